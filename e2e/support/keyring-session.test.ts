import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { test } from 'node:test';
import { noSessionEnv, parseShellExports, startPrivateKeyring } from './keyring-session.js';

test('parseShellExports reads dbus-launch --sh-syntax and gnome-keyring-daemon output', () => {
  const text = [
    "DBUS_SESSION_BUS_ADDRESS='unix:path=/tmp/x/run/dbus-abc,guid=123';",
    'export DBUS_SESSION_BUS_ADDRESS;',
    'DBUS_SESSION_BUS_PID=6668;',
    'GNOME_KEYRING_CONTROL=/tmp/x/run/keyring',
    '** Message: noise',
  ].join('\n');
  assert.deepEqual(parseShellExports(text), {
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/x/run/dbus-abc,guid=123',
    DBUS_SESSION_BUS_PID: '6668',
    GNOME_KEYRING_CONTROL: '/tmp/x/run/keyring',
  });
});

test('noSessionEnv points the bus at a socket that does not exist, or removes the address', () => {
  assert.deepEqual(noSessionEnv('/tmp/empty'), {
    HOME: '/tmp/empty',
    XDG_RUNTIME_DIR: '/tmp/empty',
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/empty/no-such-bus',
  });
  assert.equal(noSessionEnv('/tmp/empty', { unset: true }).DBUS_SESSION_BUS_ADDRESS, undefined);
  assert.ok(
    'DBUS_SESSION_BUS_ADDRESS' in noSessionEnv('/tmp/empty', { unset: true }),
    'present, to remove it',
  );
});

test('without the binaries the harness skips with a reason naming the packages', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const result = await startPrivateKeyring();
    assert.ok('skipped' in result);
    if (process.platform === 'linux') {
      assert.match(result.skipped, /dbus-launch, dbus-send, gnome-keyring-daemon not found/);
      assert.match(result.skipped, /apt-get install dbus-x11 dbus-bin gnome-keyring/);
    }
  } finally {
    process.env.PATH = path;
  }
});

test('a private keyring lives in its own 0700 folder and is gone after stop()', async (t) => {
  const keyring = await startPrivateKeyring();
  if ('skipped' in keyring) return t.skip(keyring.skipped);
  try {
    assert.equal((await stat(keyring.dir)).mode & 0o777, 0o700);
    for (const name of ['HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME']) {
      assert.ok(keyring.env[name]?.startsWith(keyring.dir), name);
    }
    assert.match(keyring.env.DBUS_SESSION_BUS_ADDRESS ?? '', new RegExp(`^unix:path=${keyring.dir}/run/`));
    assert.ok(Number(keyring.env.DBUS_SESSION_BUS_PID) > 0);
    assert.equal(keyring.env.GNOME_KEYRING_CONTROL, `${keyring.dir}/run/keyring`);
    assert.equal(keyring.env.DISPLAY, undefined);
    assert.equal(await keyring.isLocked(), false);
    await keyring.lock();
    assert.equal(await keyring.isLocked(), true);
    await keyring.unlock();
    assert.equal(await keyring.isLocked(), false);
    const daemon = await keyring.secretServicePid();
    assert.ok(daemon);
    const bus = Number(keyring.env.DBUS_SESSION_BUS_PID);
    await keyring.stop();
    await assert.rejects(stat(keyring.dir), { code: 'ENOENT' });
    for (const pid of [daemon, bus]) assert.ok(isGone(pid), `pid ${pid} stopped`);
  } finally {
    await keyring.stop();
  }
});

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  // a zombie nobody reaps (containers whose init does not reap) is gone too
  const status = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return status.slice(status.lastIndexOf(')') + 2).startsWith('Z');
}
