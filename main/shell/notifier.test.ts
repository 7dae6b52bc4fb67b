import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthy, reauthRequired, refreshing, signedOut, signingIn } from '../core/keeper-state.js';
import { Secret } from '../core/secret.js';
import { decideNotice } from './notifier.js';
import { startShellRig, type ShellRig } from './testing/shell-rig.js';

const NOW = Date.UTC(2026, 0, 1);
const ok = healthy({
  accessExpiresAt: NOW + 3_600_000,
  refreshedAt: NOW,
  nextRefreshAt: NOW + 3_000_000,
  unsaved: false,
});
const dead = reauthRequired({
  reason: 'invalid-grant',
  since: NOW,
  message: 'PikPak rejected the refresh token. Sign in again.',
});

describe('decideNotice (pure)', () => {
  it('entering reauth-required opens an episode with one notice: what, which account, what to do', () => {
    const d = decideNotice({ account: 'main', state: dead, previous: refreshing(NOW, NOW) }, undefined, true);
    assert.deepEqual(d.episode, { notified: true });
    assert.equal(d.notice?.kind, 'reauth');
    assert.equal(d.notice?.title, 'PikPak account “main” needs a new sign-in');
    assert.equal(
      d.notice?.body,
      'PikPak rejected the refresh token. Sign in again. Click here to sign in again.',
    );
    assert.equal(d.notice?.silent, false);
  });

  it('inside an episode, nothing new is said', () => {
    const episode = { notified: true };
    for (const state of [signingIn(NOW), dead, refreshing(NOW, undefined)])
      assert.deepEqual(decideNotice({ account: 'main', state, previous: dead }, episode, true), {
        notice: undefined,
        episode,
      });
  });

  it('recovery after a notice: one quiet confirmation, episode closed', () => {
    const d = decideNotice(
      { account: 'main', state: ok, previous: signingIn(NOW) },
      { notified: true },
      true,
    );
    assert.equal(d.episode, undefined);
    assert.equal(d.notice?.kind, 'recovered');
    assert.equal(d.notice?.silent, true);
  });

  it('no confirmation for a problem never shown, nor for routine refreshes', () => {
    assert.equal(
      decideNotice({ account: 'm', state: ok, previous: dead }, { notified: false }, true).notice,
      undefined,
    );
    assert.deepEqual(
      decideNotice({ account: 'm', state: ok, previous: refreshing(NOW, NOW) }, undefined, true),
      {
        notice: undefined,
        episode: undefined,
      },
    );
  });

  it('notifications off: the episode is tracked silently', () => {
    assert.deepEqual(decideNotice({ account: 'm', state: dead, previous: ok }, undefined, false), {
      notice: undefined,
      episode: { notified: false },
    });
  });

  it('signing out ends the episode without a word', () => {
    assert.deepEqual(
      decideNotice({ account: 'm', state: signedOut(), previous: dead }, { notified: true }, true),
      {
        notice: undefined,
        episode: undefined,
      },
    );
  });
});

async function invalidGrant(rig: ShellRig, account = 'main'): Promise<void> {
  rig.revokeAllTokens();
  await rig.broker
    .keeper(account)
    .refreshNow()
    .catch(() => undefined);
  assert.equal(rig.broker.account(account).state.type, 'reauth-required');
}

describe('notifications from a real broker', () => {
  it('invalid_grant: one notification; clicking it opens the login window for that account', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      await invalidGrant(rig);
      assert.equal(rig.fake.notifications.length, 1);
      const [notification] = rig.fake.notifications;
      assert.equal(notification!.shown, true);
      assert.equal(notification!.options.title, 'PikPak account “main” needs a new sign-in');
      assert.match(String(notification!.options.body), /used by another program or revoked/);
      assert.match(String(notification!.options.body), /Click here to sign in again\.$/);
      assert.equal(rig.fake.windows.length, 0);
      notification!.click();
      assert.equal(rig.fake.windows.length, 1);
      assert.match(rig.fake.windows[0]!.loaded.file!, /renderer[/\\]login\.html$/);
      assert.deepEqual(rig.fake.windows[0]!.loaded.query, { account: 'main' });
    } finally {
      await rig.stop();
    }
  });

  it('a sign-in needed before the core was attached (e.g. a token lost in a crash) is notified too', async () => {
    const rig = await startShellRig({ accounts: ['main'], attach: false });
    try {
      await invalidGrant(rig);
      assert.equal(rig.fake.notifications.length, 0, 'nobody listened yet');
      rig.controller.attach(rig.core);
      assert.equal(rig.fake.notifications.length, 1);
      assert.equal(rig.fake.notifications[0]!.options.title, 'PikPak account “main” needs a new sign-in');
    } finally {
      await rig.stop();
    }
  });

  it('no spam: a failed re-login inside the episode says nothing new; recovery is one quiet notice', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      await invalidGrant(rig);
      // The user tries with a wrong password: signing-in → back to reauth-required.
      await rig.broker
        .login({
          account: 'main',
          username: 'user@example.com',
          password: new Secret('wrong'),
          platform: 'android',
          rememberPassword: false,
        })
        .catch(() => undefined);
      await rig.broker
        .keeper('main')
        .refreshNow()
        .catch(() => undefined);
      assert.equal(rig.fake.notifications.length, 1, 'still the one notification');
      await rig.signIn('main');
      assert.equal(rig.fake.notifications.length, 2);
      const recovered = rig.fake.notifications[1]!;
      assert.equal(recovered.options.silent, true);
      assert.equal(recovered.options.title, 'PikPak account “main” works again');
      recovered.click();
      assert.equal(rig.fake.windows.length, 0, 'a recovery notice opens nothing');
      // A new problem later is a new episode.
      await invalidGrant(rig);
      assert.equal(rig.fake.notifications.length, 3);
    } finally {
      await rig.stop();
    }
  });

  it('Linux without a notification daemon: isSupported() still says yes; the failure is logged once and the tray carries the news', async () => {
    const rig = await startShellRig({ accounts: ['main', 'nas'] });
    try {
      rig.fake.notificationDaemon = false;
      assert.equal(rig.fake.electron.Notification.isSupported(), true, 'libnotify loads without a daemon');
      await invalidGrant(rig, 'main');
      await invalidGrant(rig, 'nas');
      assert.equal(rig.fake.notifications.length, 2, 'both were tried');
      assert.ok(rig.fake.notifications.every((n) => !n.shown));
      assert.match(rig.fake.trays[0]!.image!.path, /error-light@2x\.png$/);
      assert.ok(rig.fake.trays[0]!.menu!.labels().includes('Re-login “main”…'));
      assert.equal(rig.log.lines.filter((l) => /could not be shown/.test(l.msg ?? '')).length, 1);
    } finally {
      await rig.stop();
    }
  });

  it('no notification backend at all (isSupported() false): nothing is tried, the tray carries the news', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      rig.fake.notificationsSupported = false;
      await invalidGrant(rig);
      assert.equal(rig.fake.notifications.length, 0);
      assert.match(rig.fake.trays[0]!.image!.path, /error-light@2x\.png$/);
      assert.ok(rig.fake.trays[0]!.menu!.labels().includes('Re-login “main”…'));
      assert.equal(
        rig.log.lines.filter((l) => /notifications are not available/.test(l.msg ?? '')).length,
        1,
      );
    } finally {
      await rig.stop();
    }
  });

  it('respects “notifications off” and per-account options', async () => {
    const rig = await startShellRig({
      accounts: ['main', 'nas'],
      settings: { accounts: { nas: { notify: false } } },
    });
    try {
      await invalidGrant(rig, 'nas');
      assert.equal(rig.fake.notifications.length, 0, 'nas is muted');
      rig.settings.set('notifications', false);
      await invalidGrant(rig, 'main');
      assert.equal(rig.fake.notifications.length, 0, 'all muted');
    } finally {
      await rig.stop();
    }
  });
});
