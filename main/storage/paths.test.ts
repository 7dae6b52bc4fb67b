import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InsecureDirectoryError } from '../core/errors/index.js';
import { defaultDataDir, defaultSocketPath, ensurePrivateDir, type PlatformContext } from './paths.js';

const linux = (env: Record<string, string> = {}): PlatformContext => ({
  platform: 'linux',
  env,
  homedir: '/home/ann',
});
const mac: PlatformContext = { platform: 'darwin', env: {}, homedir: '/Users/ann' };
const windows = (env: Record<string, string> = {}, username?: string): PlatformContext => ({
  platform: 'win32',
  env,
  homedir: 'C:\\Users\\ann',
  username,
});

describe('defaultDataDir', () => {
  test('Linux: $XDG_DATA_HOME, else ~/.local/share', () => {
    assert.equal(defaultDataDir(linux({ XDG_DATA_HOME: '/data/ann' })), '/data/ann/pikpak-token-broker');
    assert.equal(defaultDataDir(linux()), '/home/ann/.local/share/pikpak-token-broker');
  });

  test('Linux: an empty or relative XDG_DATA_HOME is ignored (XDG spec)', () => {
    assert.equal(defaultDataDir(linux({ XDG_DATA_HOME: '' })), '/home/ann/.local/share/pikpak-token-broker');
    assert.equal(
      defaultDataDir(linux({ XDG_DATA_HOME: 'data' })),
      '/home/ann/.local/share/pikpak-token-broker',
    );
  });

  test('other Unixes follow the Linux rules', () => {
    assert.equal(
      defaultDataDir({ ...linux(), platform: 'freebsd' }),
      '/home/ann/.local/share/pikpak-token-broker',
    );
  });

  test('macOS: ~/Library/Application Support', () => {
    assert.equal(defaultDataDir(mac), '/Users/ann/Library/Application Support/pikpak-token-broker');
  });

  test('Windows: %APPDATA%, else the profile’s AppData\\Roaming', () => {
    assert.equal(defaultDataDir(windows({ APPDATA: 'D:\\Roaming' })), 'D:\\Roaming\\pikpak-token-broker');
    assert.equal(defaultDataDir(windows()), 'C:\\Users\\ann\\AppData\\Roaming\\pikpak-token-broker');
  });
});

describe('defaultSocketPath', () => {
  test('Linux: in $XDG_RUNTIME_DIR/pikpak-token-broker/', () => {
    assert.equal(
      defaultSocketPath(linux({ XDG_RUNTIME_DIR: '/run/user/1000' })),
      '/run/user/1000/pikpak-token-broker/broker.sock',
    );
  });

  test('Linux without XDG_RUNTIME_DIR: in the data folder (the chosen one when given)', () => {
    assert.equal(defaultSocketPath(linux()), '/home/ann/.local/share/pikpak-token-broker/broker.sock');
    assert.equal(defaultSocketPath({ ...linux(), dataDir: '/srv/broker' }), '/srv/broker/broker.sock');
    assert.equal(
      defaultSocketPath({ ...linux({ XDG_RUNTIME_DIR: '/run/user/1000' }), dataDir: '/srv/broker' }),
      '/run/user/1000/pikpak-token-broker/broker.sock',
    );
  });

  test('macOS: in the data folder', () => {
    assert.equal(
      defaultSocketPath(mac),
      '/Users/ann/Library/Application Support/pikpak-token-broker/broker.sock',
    );
    assert.equal(defaultSocketPath({ ...mac, dataDir: '/tmp/b' }), '/tmp/b/broker.sock');
  });

  test('Windows: a per-user named pipe', () => {
    assert.equal(defaultSocketPath(windows({}, 'ann')), '\\\\.\\pipe\\pikpak-token-broker-ann');
    assert.equal(defaultSocketPath(windows({ USERNAME: 'bob' })), '\\\\.\\pipe\\pikpak-token-broker-bob');
    assert.equal(defaultSocketPath(windows({}, 'Ann Lee\\x')), '\\\\.\\pipe\\pikpak-token-broker-Ann_Lee_x');
  });
});

describe('ensurePrivateDir', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, () => {
  const roots: string[] = [];
  const tempRoot = async () => {
    const root = await mkdtemp(join(tmpdir(), 'pikpak-paths-'));
    roots.push(root);
    return root;
  };
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  test('creates missing folders, the last one 0700', async () => {
    const dir = join(await tempRoot(), 'a', 'b', 'data');
    await ensurePrivateDir(dir);
    const info = await stat(dir);
    assert.ok(info.isDirectory());
    assert.equal(info.mode & 0o777, 0o700);
  });

  test('tightens an existing folder to 0700 and is idempotent', async () => {
    const dir = join(await tempRoot(), 'data');
    await mkdir(dir, { mode: 0o755 });
    await ensurePrivateDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    await ensurePrivateDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  test('refuses a path that is a file', async () => {
    const file = join(await tempRoot(), 'data');
    await writeFile(file, 'x');
    await assert.rejects(ensurePrivateDir(file), (error: unknown) => {
      assert.ok(error instanceof InsecureDirectoryError);
      assert.equal(error.problem, 'not-a-directory');
      assert.equal(error.path, file);
      return true;
    });
  });

  test('refuses a folder owned by another uid, leaving its mode alone', async () => {
    const dir = join(await tempRoot(), 'data');
    await mkdir(dir, { mode: 0o755 });
    const owner = (await stat(dir)).uid;
    await assert.rejects(ensurePrivateDir(dir, { uid: owner + 1 }), (error: unknown) => {
      assert.ok(error instanceof InsecureDirectoryError);
      assert.equal(error.problem, 'foreign-owner');
      assert.equal(error.ownerUid, owner);
      assert.match(error.message, new RegExp(`belongs to uid ${owner}`));
      return true;
    });
    assert.equal((await stat(dir)).mode & 0o777, 0o755);
  });
});
