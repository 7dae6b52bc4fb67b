import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  healthy,
  reauthRequired,
  refreshing,
  retrying,
  signedOut,
  signingIn,
  type KeeperState,
} from '../core/keeper-state.js';
import { trayView, type TrayInput, type TrayMenuEntry } from './tray-view.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;

const ok = healthy({
  accessExpiresAt: NOW + 119 * MIN,
  refreshedAt: NOW - MIN,
  nextRefreshAt: NOW + 100 * MIN,
  unsaved: false,
});
const dead = reauthRequired({
  reason: 'invalid-grant',
  since: NOW - MIN,
  message: 'PikPak rejected the refresh token (it was used by another program or revoked). Sign in again.',
});

function input(states: Record<string, KeeperState>, extra: Partial<TrayInput> = {}): TrayInput {
  return {
    now: NOW,
    platform: 'linux',
    core: { state: 'running', message: 'Running' },
    accounts: Object.entries(states).map(([name, state]) => ({
      name,
      username: `${name}@example.com`,
      state,
    })),
    requests: [],
    startAtLogin: false,
    formatTime: (ms) => new Date(ms).toISOString().slice(11, 16),
    ...extra,
  };
}

function labels(entries: readonly TrayMenuEntry[]): string[] {
  return entries.flatMap((e) =>
    e.kind === 'separator'
      ? ['—']
      : e.kind === 'submenu'
        ? [e.label, ...labels(e.entries).map((l) => `  ${l}`)]
        : [e.label],
  );
}

function find(entries: readonly TrayMenuEntry[], label: string | RegExp): TrayMenuEntry | undefined {
  for (const e of entries) {
    if (e.kind === 'separator') continue;
    if (typeof label === 'string' ? e.label === label : label.test(e.label)) return e;
    if (e.kind === 'submenu') {
      const inner = find(e.entries, label);
      if (inner) return inner;
    }
  }
  return undefined;
}

describe('tray view: the icon is a pure function of the keepers’ states', () => {
  const cases: [string, Record<string, KeeperState>, string][] = [
    ['no account', {}, 'idle'],
    ['signed out', { main: signedOut() }, 'idle'],
    ['healthy', { main: ok }, 'ok'],
    ['refreshing', { main: refreshing(NOW, NOW + MIN) }, 'busy'],
    ['signing in', { main: signingIn(NOW) }, 'busy'],
    [
      'retrying with a token still valid',
      {
        main: retrying({
          attempt: 2,
          nextAttemptAt: NOW + 30_000,
          lastError: { code: 'transient', message: 'ECONNRESET' },
          accessExpiresAt: NOW + 10 * MIN,
        }),
      },
      'warn',
    ],
    [
      'retrying with the token expired',
      {
        main: retrying({
          attempt: 5,
          nextAttemptAt: NOW + 30_000,
          lastError: { code: 'transient', message: 'ECONNRESET' },
          accessExpiresAt: NOW - MIN,
        }),
      },
      'error',
    ],
    ['re-login needed', { main: dead }, 'error'],
    ['the worst of several', { main: ok, nas: dead }, 'error'],
  ];
  for (const [name, states, health] of cases)
    it(`${name} → ${health}`, () => assert.equal(trayView(input(states)).health, health));

  it('is busy while the core starts and red when it failed', () => {
    assert.equal(trayView(input({}, { core: { state: 'starting', message: '' } })).health, 'busy');
    const failed = trayView(
      input({}, { core: { state: 'failed', message: 'another broker runs (pid 7, daemon)' } }),
    );
    assert.equal(failed.health, 'error');
    assert.match(failed.tooltip, /Not running: another broker runs \(pid 7, daemon\)/);
  });
});

describe('tray view: tooltip', () => {
  it("names each account's state and when its token expires", () => {
    const view = trayView(input({ main: ok, nas: dead }));
    assert.equal(
      view.tooltip,
      [
        'PikPak Token Broker: Sign-in needed: nas',
        'main: healthy — token expires in 1h 59m (13:59)',
        'nas: sign-in needed — PikPak rejected the refresh token',
      ].join('\n'),
    );
  });

  it('says when PikPak is unreachable and the token has expired', () => {
    const view = trayView(
      input({
        main: retrying({
          attempt: 3,
          nextAttemptAt: NOW + 45_000,
          lastError: { code: 'transient', message: 'timeout' },
          accessExpiresAt: NOW - 1,
        }),
      }),
    );
    assert.match(view.tooltip, /main: PikPak unreachable, retry in 45s — token expired/);
  });

  it('fits Windows’ 127-character limit', () => {
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`account-${i}`, ok]));
    const view = trayView(input(many, { platform: 'win32' }));
    assert.ok(view.tooltip.length <= 127, `${view.tooltip.length}`);
    assert.ok(view.tooltip.endsWith('…'));
    assert.ok(trayView(input(many)).tooltip.length > 127, 'other platforms keep the whole text');
  });
});

describe('tray view: menu', () => {
  it('healthy: health line, accounts, refresh, AList setup, clients, status, start at login, quit', () => {
    const view = trayView(input({ main: ok }));
    assert.deepEqual(labels(view.menu), [
      'PikPak Token Broker — Token healthy',
      'main: healthy — token expires in 1h 59m (13:59)',
      '—',
      'Add account…',
      'Refresh now',
      '—',
      'Copy AList setup',
      'Clients…',
      'Open status',
      '—',
      'Start at login',
      'Quit',
    ]);
    assert.deepEqual(find(view.menu, 'Refresh now'), {
      kind: 'item',
      label: 'Refresh now',
      enabled: true,
      action: { type: 'refresh', account: 'main' },
    });
    const health = find(view.menu, /^PikPak Token Broker/);
    assert.ok(
      health?.kind === 'item' && !health.enabled && !health.action,
      'the health line is information only',
    );
  });

  it('re-login needed: a “Re-login …” item per such account, and refresh is off for it', () => {
    const view = trayView(input({ main: ok, nas: dead }));
    const relogin = find(view.menu, 'Re-login “nas”…');
    assert.deepEqual(relogin, {
      kind: 'item',
      label: 'Re-login “nas”…',
      enabled: true,
      action: { type: 'relogin', account: 'nas' },
    });
    assert.equal(find(view.menu, 'Re-login “main”…'), undefined, 'only where it is needed');
    const refresh = find(view.menu, 'Refresh now');
    assert.equal(refresh?.kind, 'submenu');
    const nas = find(view.menu, 'nas');
    assert.ok(nas?.kind === 'item' && !nas.enabled, 'a rejected token cannot be refreshed');
    const main = find(view.menu, 'main');
    assert.ok(main?.kind === 'item' && main.enabled);
  });

  it('no “Re-login” when nothing needs it, and no refresh without an account', () => {
    const view = trayView(input({}));
    assert.equal(
      labels(view.menu).some((l) => l.startsWith('Re-login')),
      false,
    );
    const refresh = find(view.menu, 'Refresh now');
    assert.ok(refresh?.kind === 'item' && !refresh.enabled);
  });

  it('the Start at login checkbox shows the setting', () => {
    for (const startAtLogin of [true, false]) {
      const entry = find(trayView(input({ main: ok }, { startAtLogin })).menu, 'Start at login');
      assert.deepEqual(entry, {
        kind: 'checkbox',
        label: 'Start at login',
        checked: startAtLogin,
        action: { type: 'toggle-start-at-login' },
      });
    }
  });

  it('shows who asks for which account', () => {
    const view = trayView(
      input(
        { main: ok },
        {
          requests: [
            {
              id: 'a1b2c3',
              name: 'alist-nas',
              account: 'main',
              code: 'K7QF',
              requestedAt: NOW,
              expiresAt: NOW + 10 * MIN,
            },
          ],
        },
      ),
    );
    assert.deepEqual(find(view.menu, /asks for/), {
      kind: 'item',
      label: '“alist-nas” asks for “main” (code K7QF)…',
      enabled: true,
      action: { type: 'review-request', id: 'a1b2c3' },
    });
    assert.match(view.tooltip, /1 program\(s\) ask for access/);
  });

  it('while the core is down: still Open status and Quit, nothing that needs the broker', () => {
    const view = trayView(input({}, { core: { state: 'failed', message: 'locked' } }));
    assert.ok(find(view.menu, 'Open status'));
    assert.ok(find(view.menu, 'Quit'));
    const copy = find(view.menu, 'Copy AList setup');
    assert.ok(copy?.kind === 'item' && !copy.enabled);
    assert.equal(find(view.menu, 'Add account…'), undefined);
  });

  it('escapes “&” so that menus do not read it as an accelerator', () => {
    const view = trayView(input({ 'a&b': ok }));
    assert.ok(labels(view.menu).some((l) => l.startsWith('a&&b: healthy')));
  });
});
