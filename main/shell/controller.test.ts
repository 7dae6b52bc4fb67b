import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptchaRequiredError, TransientError } from '../pikpak/errors/index.js';
import { alistSetupText } from './alist-setup.js';
import { PASSWORD, startShellRig, USER } from './testing/shell-rig.js';

const form = {
  account: 'main',
  username: USER,
  password: PASSWORD,
  platform: 'android' as const,
  rememberPassword: false,
};

describe('shell controller: sign-in from the login window', () => {
  it('success: a message with the token’s validity; the account appears everywhere', async () => {
    const rig = await startShellRig();
    try {
      const outcome = await rig.controller.login(form);
      assert.deepEqual(outcome.ok && outcome.account, 'main');
      assert.match(outcome.message, /valid for 1h 0m/);
      assert.equal(rig.controller.status().accounts[0]?.health, 'ok');
      assert.match(rig.fake.trays[0]!.tooltip, /main: healthy/);
    } finally {
      await rig.stop();
    }
  });

  it('a wrong password: a clear message, nothing saved', async () => {
    const rig = await startShellRig();
    try {
      const outcome = await rig.controller.login({ ...form, password: 'wrong' });
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok && outcome.code === 'rejected');
      assert.equal(outcome.message, 'PikPak rejected the sign-in: wrong password');
      assert.deepEqual(rig.broker.accountNames(), []);
    } finally {
      await rig.stop();
    }
  });

  it('captcha required: the challenge url comes back to the page', async () => {
    const rig = await startShellRig();
    try {
      rig.auth.failures.signIn.push(new CaptchaRequiredError('https://user.mypikpak.com/captcha?x=1'));
      const outcome = await rig.controller.login(form);
      assert.deepEqual(outcome.ok ? undefined : [outcome.code, outcome.url], [
        'captcha_required',
        'https://user.mypikpak.com/captcha?x=1',
      ]);
    } finally {
      await rig.stop();
    }
  });

  it('PikPak unreachable: “try again” rather than “wrong password”', async () => {
    const rig = await startShellRig();
    try {
      rig.auth.failures.signIn.push(new TransientError('network', 'ECONNRESET'));
      const outcome = await rig.controller.login(form);
      assert.ok(!outcome.ok && outcome.code === 'unavailable', JSON.stringify(outcome));
    } finally {
      await rig.stop();
    }
  });

  it('before the core runs, the page is told so', async () => {
    const rig = await startShellRig({ attach: false });
    try {
      const outcome = await rig.controller.login(form);
      assert.ok(!outcome.ok && outcome.code === 'not_ready');
    } finally {
      await rig.stop();
    }
  });
});

describe('shell controller: status and actions', () => {
  it('status: accounts with health, timeline, clients and requests, AList setup, bridge, settings', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      await rig.clients.add('alist', ['main']);
      rig.requests.submit({ name: 'curl', account: 'main' });
      rig.revokeAllTokens();
      await rig.broker
        .keeper('main')
        .refreshNow()
        .catch(() => undefined);
      const status = rig.controller.status();
      assert.equal(status.health, 'error');
      assert.equal(status.headline, 'Sign-in needed: main');
      assert.equal(status.accounts[0]?.state, 'reauth-required');
      assert.match(status.accounts[0]?.reauth?.message ?? '', /rejected the refresh token/);
      assert.deepEqual(
        status.timeline.map((e) => e.text.replace(/: .*| \(code .*/, '')),
        ['Sign-in needed', '“curl” asks for access to “main”', 'Broker started'],
      );
      assert.deepEqual(
        status.clients.map((c) => c.name),
        ['alist'],
      );
      assert.deepEqual(
        status.requests.map((r) => r.name),
        ['curl'],
      );
      assert.match(status.alistSetup, /device_id /);
      assert.equal(status.bridge.state, 'off');
      assert.deepEqual(status.settings, { startAtLogin: false, notifications: true });
      assert.equal(JSON.stringify(status).includes(PASSWORD), false, 'no secret in what windows see');
    } finally {
      await rig.stop();
    }
  });

  it('approve and deny from the app; revoke a client', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const a = rig.requests.submit({ name: 'alist', account: 'main' });
      const b = rig.requests.submit({ name: 'curl', account: 'main' });
      const [first, second] = rig.requests.pending();
      assert.equal((await rig.controller.approve(first!.id)).ok, true);
      assert.equal(rig.controller.deny(second!.id).ok, true);
      assert.equal(rig.requests.poll(a.requestId.reveal()).status, 'approved');
      assert.equal(rig.requests.poll(b.requestId.reveal()).status, 'denied');
      assert.deepEqual(
        rig.clients.list().map((c) => c.name),
        ['alist'],
      );
      assert.equal((await rig.controller.approve(first!.id)).ok, false, 'decided once');
      assert.equal((await rig.controller.revoke('alist')).ok, true);
      assert.deepEqual(rig.clients.list(), []);
      const texts = rig.controller.status().timeline.map((e) => e.text);
      assert.ok(texts.some((t) => /^“alist” asks for access to “main” \(code [A-Z0-9]{4}\)$/.test(t)));
      assert.ok(texts.includes('Client “alist” approved for “main”'));
      assert.ok(texts.includes('Client “curl” denied access to “main”'));
      assert.ok(texts.includes('Client “alist” revoked'));
    } finally {
      await rig.stop();
    }
  });

  it('the tray shows who asks; its item opens the approval window for that request', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const { code } = rig.requests.submit({ name: 'alist-nas', account: 'main' });
      const menu = rig.fake.trays[0]!.menu!;
      const label = `“alist-nas” asks for “main” (code ${code})…`;
      assert.ok(menu.labels().includes(label), menu.labels().join(' | '));
      menu.click(label);
      const window = rig.fake.windows[0]!;
      assert.match(window.loaded.file!, /clients\.html$/);
      assert.deepEqual(window.loaded.query, { request: rig.requests.pending()[0]!.id });
    } finally {
      await rig.stop();
    }
  });

  it('pushes every change to open windows', async () => {
    const rig = await startShellRig();
    try {
      rig.windows.open('status');
      const window = rig.fake.windows[0]!;
      const before = window.webContents.sent.length;
      await rig.signIn('main');
      const pushes = window.webContents.sent.slice(before);
      assert.ok(pushes.length > 0);
      assert.ok(pushes.every((p) => p.channel === 'pkb:status:changed'));
    } finally {
      await rig.stop();
    }
  });
});

describe('AList setup text (the bridge’s storage fields, worded for the app)', () => {
  it('names the proxy, each account’s storage fields with the device id, and never a password', () => {
    const text = alistSetupText(
      [
        {
          name: 'main',
          username: 'me@example.com',
          platform: 'android',
          deviceId: 'cc884c5dd5755d8c21e8c12b2b7ce6a2',
        },
      ],
      { state: 'running', address: '127.0.0.1:5288', message: '' },
      '127.0.0.1:5288',
    );
    assert.match(text, /HTTPS_PROXY=http:\/\/alist:<CLIENT_SECRET>@127\.0\.0\.1:5288/);
    assert.match(text, /username +me@example\.com/);
    assert.match(text, /device_id +cc884c5dd5755d8c21e8c12b2b7ce6a2/);
    assert.match(text, /password +<CLIENT_SECRET>\.main/);
    assert.match(text, /refresh_token_method +http/);
    assert.match(text, /never your PikPak password/);
  });

  it('says when the bridge is not running, and where it would be', () => {
    const text = alistSetupText(
      [],
      { state: 'failed', address: undefined, message: 'port 5288 is taken' },
      '127.0.0.1:5288',
    );
    assert.match(text, /runs inside this app at 127\.0\.0\.1:5288 \(failed\)\.\n {3}port 5288 is taken/);
    assert.match(text, /No PikPak account is signed in yet/);
  });
});
