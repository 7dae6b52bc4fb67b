import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SettingsCorruptError } from '../core/errors/index.js';
import type { AccountRecord, BrokerSettings } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { FileSettingsStore } from './file-settings-store.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});
async function tempDataDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pikpak-settings-'));
  roots.push(root);
  return join(root, 'data');
}

function account(name: string, extra: Partial<AccountRecord> = {}): AccountRecord {
  return {
    name,
    username: `${name}@example.com`,
    platform: 'android',
    deviceId: '0123456789abcdef0123456789abcdef',
    rememberPassword: false,
    createdAt: 1_700_000_000_000,
    ...extra,
  };
}

function settings(...accounts: AccountRecord[]): BrokerSettings {
  return { version: 1, accounts };
}

const FIXED_NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
const FIXED_STAMP = '2026-01-02T03-04-05-006Z';

describe('FileSettingsStore: load and save', () => {
  test('a missing file loads as empty settings and is not created', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    assert.equal(store.path, join(dataDir, 'settings.json'));
    assert.deepEqual(await store.load(), { version: 1, accounts: [] });
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
  });

  test('accepts a bare data folder path too', async () => {
    const dataDir = await tempDataDir();
    assert.equal(new FileSettingsStore(dataDir).path, join(dataDir, 'settings.json'));
  });

  test('round trip with every optional field', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const full = settings(
      account('main', {
        platform: 'web',
        userId: 'u-1',
        rememberPassword: true,
        lastRefreshAt: 1_700_000_100_000,
        refreshIntent: {
          tokenFingerprint: 'a1b2c3d4',
          startedAt: 1_700_000_200_000,
          state: 'answered-transient',
        },
        reauth: {
          reason: 'invalid-grant',
          since: 1_700_000_300_000,
          message: 'PikPak rejected the refresh token',
          deadTokenFingerprint: 'deadbeef',
        },
      }),
      account('second', { platform: 'pc' }),
    );
    await store.save(full);
    assert.deepEqual(await store.load(), full);
    assert.deepEqual(await new FileSettingsStore({ dataDir }).load(), full, 'a fresh instance reads it');
    assert.deepEqual(JSON.parse(await readFile(store.path, 'utf8')), full);
  });

  test('an intent written before its state was recorded loads as in-flight (what it meant then)', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const legacy = { ...account('a'), refreshIntent: { tokenFingerprint: 'a1b2c3d4', startedAt: 5 } };
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(store.path, JSON.stringify({ version: 1, accounts: [legacy] }), { mode: 0o600 });
    const loaded = await store.load();
    assert.deepEqual(loaded.accounts[0]?.refreshIntent, {
      tokenFingerprint: 'a1b2c3d4',
      startedAt: 5,
      state: 'in-flight',
    });
  });

  test('optional fields set to undefined are left out of the file', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    await store.save(settings(account('a', { userId: undefined, refreshIntent: undefined })));
    const raw = await readFile(store.path, 'utf8');
    assert.doesNotMatch(raw, /userId|refreshIntent/);
    assert.deepEqual(await store.load(), settings(account('a')));
  });

  test('creates the data folder 0700 and the file 0600', { skip: process.platform === 'win32' }, async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    await store.save(settings(account('a')));
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
  });

  test(
    'a file someone made world-readable is 0600 again after a save',
    { skip: process.platform === 'win32' },
    async () => {
      const dataDir = await tempDataDir();
      const store = new FileSettingsStore({ dataDir });
      await store.save(settings());
      await chmod(store.path, 0o644);
      await store.save(settings(account('a')));
      assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    },
  );

  test('tolerates a UTF-8 byte order mark (files edited with Notepad)', async () => {
    const dataDir = await tempDataDir();
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'settings.json'), `\uFEFF${JSON.stringify(settings(account('a')))}`);
    assert.deepEqual(await new FileSettingsStore({ dataDir }).load(), settings(account('a')));
  });

  test('the file is written whole: no temp files left, readers never see a partial file', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const big = (n: number) =>
      settings(
        ...Array.from({ length: 300 }, (_, i) => account(`acct-${n}-${i}`, { userId: 'x'.repeat(200) })),
      );
    await store.save(big(0));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(store.path, 'utf8');
        JSON.parse(text); // throws on a torn read
        reads++;
      }
    })();
    for (let n = 1; n <= 30; n++) await store.save(big(n));
    writing = false;
    await reader;
    assert.ok(reads > 0);
    assert.deepEqual(await readdir(dataDir), ['settings.json']);
    assert.equal((await store.load()).accounts[0]?.name, 'acct-30-0');
  });
});

describe('FileSettingsStore: corrupt files', () => {
  async function storeWith(content: string | Buffer) {
    const dataDir = await tempDataDir();
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, 'settings.json');
    await writeFile(path, content);
    return { dataDir, path, store: new FileSettingsStore({ dataDir, now: () => FIXED_NOW }) };
  }

  test('bad JSON: typed error naming both paths, a byte-exact copy, the original untouched', async () => {
    const content = '{"version": 1, "accounts": [ {"name": "a", "refresh_token": "tok-SECRET-123"';
    const { dataDir, path, store } = await storeWith(content);
    const error = await store.load().then(
      () => assert.fail('load should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SettingsCorruptError);
    assert.equal(error.code, 'settings_corrupt');
    assert.equal(error.path, path);
    assert.equal(error.backupPath, `${path}.corrupt-${FIXED_STAMP}`);
    assert.equal(error.reason, 'not valid JSON');
    assert.ok(error.message.includes(path) && error.message.includes(error.backupPath));
    assert.doesNotMatch(error.message, /SECRET/, 'the message never quotes the file');
    assert.equal(error.cause, undefined, 'no cause carrying V8’s quote of the file');
    assert.equal(await readFile(path, 'utf8'), content);
    assert.equal(await readFile(error.backupPath, 'utf8'), content);
    assert.deepEqual((await readdir(dataDir)).sort(), [
      'settings.json',
      `settings.json.corrupt-${FIXED_STAMP}`,
    ]);
  });

  test('schema mismatch: the reason names the first issue’s path', async () => {
    const bad = settings(account('a'));
    (bad.accounts[0] as unknown as Record<string, unknown>).platform = 'ios';
    const { path, store } = await storeWith(JSON.stringify(bad));
    await assert.rejects(store.load(), (error: unknown) => {
      assert.ok(error instanceof SettingsCorruptError);
      assert.match(error.reason, /^accounts\.0\.platform: /);
      assert.ok(error.backupPath);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), JSON.stringify(bad));
  });

  test('wrong version, unknown keys, a token in a fingerprint field, duplicate names: all corrupt', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ version: 2, accounts: [] }, /^version: /],
      [{ version: 1, accounts: [], extra: true }, /Unrecognized key/],
      [{ version: 1, accounts: [{ ...account('a'), refreshToken: 'x' }] }, /^accounts\.0: Unrecognized key/],
      [
        {
          version: 1,
          accounts: [
            account('a', {
              refreshIntent: { tokenFingerprint: 'not-a-fingerprint', startedAt: 1, state: 'in-flight' },
            }),
          ],
        },
        /^accounts\.0\.refreshIntent\.tokenFingerprint: expected a hex fingerprint/,
      ],
      [
        {
          version: 1,
          accounts: [
            {
              ...account('a'),
              refreshIntent: { tokenFingerprint: 'a1b2c3d4', startedAt: 1, state: 'maybe' },
            },
          ],
        },
        /^accounts\.0\.refreshIntent\.state: /,
      ],
      [{ version: 1, accounts: [account('a'), account('a')] }, /^accounts\.1\.name: duplicate account name/],
      [[], /^\(root\): /],
      ['', /not valid JSON/],
    ];
    for (const [content, reason] of cases) {
      const { store } = await storeWith(content === '' ? '' : JSON.stringify(content));
      await assert.rejects(store.load(), (error: unknown) => {
        assert.ok(error instanceof SettingsCorruptError, String(error));
        assert.match(error.reason, reason);
        return true;
      });
    }
  });

  test('each failed load keeps its own copy, even within one millisecond', async () => {
    const { store, path } = await storeWith('nope');
    const first = await store.load().catch((e: unknown) => e);
    const second = await store.load().catch((e: unknown) => e);
    assert.ok(first instanceof SettingsCorruptError && second instanceof SettingsCorruptError);
    assert.equal(first.backupPath, `${path}.corrupt-${FIXED_STAMP}`);
    assert.equal(second.backupPath, `${path}.corrupt-${FIXED_STAMP}-1`);
  });

  test('the copy is private too', { skip: process.platform === 'win32' }, async () => {
    const { store } = await storeWith('nope');
    const error = await store.load().catch((e: unknown) => e);
    assert.ok(error instanceof SettingsCorruptError && error.backupPath);
    assert.equal((await stat(error.backupPath)).mode & 0o777, 0o600);
  });
});

describe('FileSettingsStore: save guards', () => {
  test('refuses a Secret anywhere, writes nothing, and does not reveal it', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    await store.save(settings(account('a')));
    const before = await readFile(store.path, 'utf8');
    const leaky = settings(account('a', { userId: new Secret('tok-SECRET-456') as unknown as string }));
    await assert.rejects(store.save(leaky), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /accounts\.0\.userId is a Secret/);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
    assert.equal(await readFile(store.path, 'utf8'), before);
  });

  test('refuses unknown keys (say, a token field) and invalid values', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const extra = { ...account('a'), refreshToken: 'tok-SECRET-789' } as AccountRecord;
    await assert.rejects(store.save(settings(extra)), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /Unrecognized key/);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
    await assert.rejects(store.save(settings(account('a', { createdAt: -1 }))), TypeError);
    await assert.rejects(stat(store.path), { code: 'ENOENT' }, 'nothing was written');
  });

  test('serializes at call time: later changes to the object are not written', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const value = settings(account('a'));
    const saving = store.save(value);
    value.accounts.push(account('b'));
    await saving;
    assert.deepEqual(await store.load(), settings(account('a')));
  });

  test('concurrent saves run one at a time, in call order; the last one wins', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const versions = Array.from({ length: 25 }, (_, i) => settings(account(`v${i}`, { createdAt: i })));
    await Promise.all(versions.map((v) => store.save(v)));
    assert.deepEqual(await store.load(), versions.at(-1));
    assert.deepEqual(await readdir(dataDir), ['settings.json']);
  });

  test('a rejected save does not block the ones after it; load waits for queued saves', async () => {
    const dataDir = await tempDataDir();
    const store = new FileSettingsStore({ dataDir });
    const bad = store.save({ version: 2 } as unknown as BrokerSettings);
    const good = store.save(settings(account('ok')));
    const loaded = store.load(); // not awaiting `good` first
    await assert.rejects(bad, TypeError);
    await good;
    assert.deepEqual(await loaded, settings(account('ok')));
  });

  test('a failing write rejects that save only', { skip: process.platform === 'win32' }, async () => {
    const root = await tempDataDir();
    await mkdir(root, { recursive: true });
    const dataDir = join(root, 'file-not-dir');
    await writeFile(dataDir, 'x'); // the data folder path is a file: the write must fail
    const store = new FileSettingsStore({ dataDir });
    await assert.rejects(store.save(settings()));
    await rm(dataDir);
    await store.save(settings(account('later')));
    assert.deepEqual(await store.load(), settings(account('later')));
  });
});
