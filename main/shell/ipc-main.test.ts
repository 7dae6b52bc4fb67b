import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENTS, REQUESTS, type RequestName, type StatusView } from './ipc-channels.js';
import { FakeIpcMain } from './testing/fake-electron.js';
import { startShellRig } from './testing/shell-rig.js';

describe('IPC registry', () => {
  it('channel names are unique and namespaced', () => {
    const channels = [...Object.values(REQUESTS), ...Object.values(EVENTS)].map((r) => r.channel);
    assert.equal(new Set(channels).size, channels.length);
    for (const channel of channels) assert.match(channel, /^pkb:[a-z-]+(?::[a-z-]+)*$/);
  });
});

describe('IPC in the main process', () => {
  it('registers a handler for every request before any window exists', async () => {
    const rig = await startShellRig();
    try {
      assert.equal(rig.fake.windows.length, 0);
      assert.deepEqual(
        [...rig.fake.ipcMain.handlers.keys()].sort(),
        Object.values(REQUESTS)
          .map((r) => r.channel)
          .sort(),
      );
    } finally {
      await rig.stop();
    }
  });

  it('answers our windows', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      rig.windows.open('status');
      const status = (await rig.fake.ipcMain.invoke(
        REQUESTS.getStatus.channel,
        FakeIpcMain.from(rig.fake.windows[0]!),
      )) as StatusView;
      assert.equal(status.accounts[0]?.name, 'main');
      assert.equal(status.health, 'ok');
    } finally {
      await rig.stop();
    }
  });

  it('ignores IPC from a sender that is not one of our windows', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const stranger = { sender: { id: 4242 }, senderFrame: { url: 'https://evil.example/' } };
      const calls: [RequestName, unknown[]][] = [
        ['getStatus', []],
        ['refreshNow', ['main']],
        ['copyAlistSetup', []],
        ['setStartAtLogin', [true]],
      ];
      for (const [name, args] of calls)
        await assert.rejects(rig.fake.ipcMain.invoke(REQUESTS[name].channel, stranger, ...args), /refused/);
      assert.equal(rig.fake.clipboard.text, '', 'nothing was done');
      assert.equal(rig.settings.get().startAtLogin, false);
      assert.deepEqual(rig.autostart, []);
      assert.ok(rig.log.lines.some((l) => /not one of our windows/.test(l.msg ?? '')));
    } finally {
      await rig.stop();
    }
  });

  it('refuses a call the sending window may not make (login page approving a client)', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const { requestId } = rig.requests.submit({ name: 'alist', account: 'main' });
      const [pending] = rig.requests.pending();
      rig.windows.open('login');
      const login = FakeIpcMain.from(rig.fake.windows[0]!);
      await assert.rejects(
        rig.fake.ipcMain.invoke(REQUESTS.approveClient.channel, login, pending!.id),
        /refused/,
      );
      assert.equal(rig.requests.poll(requestId.reveal()).status, 'pending');
    } finally {
      await rig.stop();
    }
  });

  it('refuses arguments of the wrong shape', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      rig.windows.open('login');
      const login = FakeIpcMain.from(rig.fake.windows[0]!);
      const bad = [
        [{ account: 'main' }],
        [{ account: 'main', username: 'u', password: 'p', platform: 'ios', rememberPassword: false }],
        [
          {
            account: 'main',
            username: 'u',
            password: 'p',
            platform: 'web',
            rememberPassword: false,
            extra: 1,
          },
        ],
        [],
        ['not an object'],
      ];
      for (const args of bad)
        await assert.rejects(rig.fake.ipcMain.invoke(REQUESTS.login.channel, login, ...args), /refused/);
      assert.equal(rig.auth.signInCalls, 1, 'only the rig’s own sign-in reached PikPak');
    } finally {
      await rig.stop();
    }
  });
});
