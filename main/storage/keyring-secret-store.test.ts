/**
 * KeyringSecretStore against a real Secret Service: a private gnome-keyring on a private D-Bus
 * session (e2e/support/keyring-session.ts), never the user's own keychain. This process is
 * pointed at the private bus before its first keychain call (the binding reads the address once
 * per process); scenarios that need another bus (none at all, one without a Secret Service, one
 * that refuses access) run in child processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  hasSecretTool,
  noSessionEnv,
  runKeyringChild,
  secretTool,
  startPrivateKeyring,
  usePrivateKeyringInThisProcess,
  type KeyringChildOutcome,
  type PrivateKeyring,
} from '../../e2e/support/keyring-session.js';
import { KeychainUnavailableError } from '../core/errors/index.js';
import { Secret } from '../core/secret.js';
import { KeyringSecretStore } from './keyring-secret-store.js';

const started = await startPrivateKeyring();
const skip = 'skipped' in started ? started.skipped : false;
const keyring = 'skipped' in started ? undefined : started;
if (keyring) usePrivateKeyringInThisProcess(keyring);
after(async () => {
  await keyring?.stop();
});

/** The private keyring; only called inside tests that are skipped without one. */
function privateKeyring(): PrivateKeyring {
  assert.ok(keyring, 'private keyring');
  return keyring;
}

const service = `pikpak-token-broker-test-${randomUUID().slice(0, 8)}`;
const store = () => new KeyringSecretStore({ service, timeoutMs: 20_000 });
const newAccount = () => `acct-${randomUUID().slice(0, 8)}`;

function assertUnavailable(
  outcome: KeyringChildOutcome | undefined,
  reason: string,
): asserts outcome is Extract<KeyringChildOutcome, { ok: false }> {
  assert.ok(outcome, 'an outcome');
  assert.equal(outcome.ok, false, JSON.stringify(outcome));
  assert.ok(!outcome.ok);
  assert.equal(outcome.name, 'KeychainUnavailableError', outcome.message);
  assert.equal(outcome.code, 'keychain_unavailable');
  assert.equal(outcome.reason, reason, outcome.message);
}

describe('KeyringSecretStore on a private Secret Service', { skip }, () => {
  test('this process talks to the private bus only', () => {
    const { env, dir } = privateKeyring();
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS?.includes(dir), process.env.DBUS_SESSION_BUS_ADDRESS);
    assert.equal(process.env.DBUS_SESSION_BUS_ADDRESS, env.DBUS_SESSION_BUS_ADDRESS);
    assert.equal(process.env.HOME, env.HOME);
    assert.equal(process.env.DISPLAY, undefined);
  });

  test('set, get, delete round trip', async () => {
    const account = newAccount();
    const secrets = store();
    await secrets.set(account, 'refresh-token', new Secret('tok-1'));
    const value = await secrets.get(account, 'refresh-token');
    assert.ok(value instanceof Secret);
    assert.equal(value.reveal(), 'tok-1');
    await secrets.delete(account, 'refresh-token');
    assert.equal(await secrets.get(account, 'refresh-token'), undefined);
  });

  test('an absent entry reads as undefined; deleting it is a no-op', async () => {
    const secrets = store();
    const account = newAccount();
    assert.equal(await secrets.get(account, 'password'), undefined);
    await secrets.delete(account, 'password');
    assert.equal(await secrets.get(account, 'password'), undefined);
  });

  test('overwrite keeps one entry with the newest value', async () => {
    const account = newAccount();
    const secrets = store();
    await secrets.set(account, 'refresh-token', new Secret('gen-1'));
    await secrets.set(account, 'refresh-token', new Secret('gen-2'));
    assert.equal((await secrets.get(account, 'refresh-token'))?.reveal(), 'gen-2');
    if (hasSecretTool()) {
      const found = await secretTool(privateKeyring().env, [
        'search',
        '--all',
        'service',
        service,
        'username',
        `${account}/refresh-token`,
      ]);
      assert.equal(found.stdout.match(/^\[\//gm)?.length, 1, found.stdout);
    }
  });

  test('unicode and long values survive', async () => {
    const account = newAccount();
    const secrets = store();
    const value = `pässwörd ✓ 🔑 ${'x'.repeat(4096)}`;
    await secrets.set(account, 'password', new Secret(value));
    assert.equal((await secrets.get(account, 'password'))?.reveal(), value);
  });

  test('kinds and accounts are separate entries', async () => {
    const [a, b] = [newAccount(), newAccount()];
    const secrets = store();
    await secrets.set(a, 'refresh-token', new Secret('a-token'));
    await secrets.set(a, 'password', new Secret('a-password'));
    await secrets.set(b, 'refresh-token', new Secret('b-token'));
    assert.equal((await secrets.get(a, 'refresh-token'))?.reveal(), 'a-token');
    assert.equal((await secrets.get(a, 'password'))?.reveal(), 'a-password');
    assert.equal((await secrets.get(b, 'refresh-token'))?.reveal(), 'b-token');
    assert.equal(await secrets.get(b, 'password'), undefined);
    await secrets.delete(a, 'refresh-token');
    assert.equal((await secrets.get(a, 'password'))?.reveal(), 'a-password');
    const otherService = new KeyringSecretStore({ service: `${service}-other` });
    assert.equal(await otherService.get(a, 'password'), undefined, 'the service name separates stores');
  });

  test(
    'secret-tool sees a real Secret Service item under the service name',
    { skip: hasSecretTool() ? false : 'secret-tool not found (apt-get install libsecret-tools)' },
    async () => {
      const { env } = privateKeyring();
      const account = newAccount();
      await store().set(account, 'refresh-token', new Secret('seen-from-outside'));
      const lookup = await secretTool(env, [
        'lookup',
        'service',
        service,
        'username',
        `${account}/refresh-token`,
      ]);
      assert.equal(lookup.code, 0, lookup.stderr);
      assert.equal(lookup.stdout, 'seen-from-outside');
      const search = await secretTool(env, [
        'search',
        '--all',
        'service',
        service,
        'username',
        `${account}/refresh-token`,
      ]);
      const listing = search.stdout + search.stderr; // secret-tool prints the attributes on stderr
      assert.match(listing, /^secret = seen-from-outside$/m);
      assert.match(listing, new RegExp(`^attribute\\.service = ${service}$`, 'm'));
      assert.match(listing, new RegExp(`^attribute\\.username = ${account}/refresh-token$`, 'm'));
      // and the other way round: what secret-tool stores, the store reads
      const other = newAccount();
      const stored = await runSecretToolStore(env, service, `${other}/password`, 'stored-by-secret-tool');
      assert.equal(stored, 0);
      assert.equal((await store().get(other, 'password'))?.reveal(), 'stored-by-secret-tool');
    },
  );

  test('persistence: another process and a fresh instance read what was written', async () => {
    const { env } = privateKeyring();
    const account = newAccount();
    await store().set(account, 'refresh-token', new Secret('written-here'));
    const read = await runKeyringChild(env, {
      service,
      ops: [{ op: 'get', account, kind: 'refresh-token' }],
    });
    assert.deepEqual(read, [{ ok: true, value: 'written-here' }]);
    const written = await runKeyringChild(env, {
      service,
      ops: [{ op: 'set', account, kind: 'password', value: 'written-there' }],
    });
    assert.deepEqual(written, [{ ok: true }]);
    assert.equal((await store().get(account, 'password'))?.reveal(), 'written-there');
  });

  test('locked collection: existing entries fail as locked, absent ones still read undefined', async () => {
    const private_ = privateKeyring();
    const account = newAccount();
    const secrets = store();
    await secrets.set(account, 'refresh-token', new Secret('before-lock'));
    await private_.lock();
    try {
      for (const operation of [
        () => secrets.get(account, 'refresh-token'),
        () => secrets.set(account, 'refresh-token', new Secret('while-locked')),
        () => secrets.set(newAccount(), 'password', new Secret('new-while-locked')),
        () => secrets.delete(account, 'refresh-token'),
      ]) {
        await assert.rejects(operation(), (error: unknown) => {
          assert.ok(error instanceof KeychainUnavailableError, String(error));
          assert.equal(error.reason, 'locked');
          assert.match(error.detail ?? '', /unlock prompt was dismissed/);
          assert.match(error.message, /^The keychain is locked/);
          assert.doesNotMatch(error.message, /before-lock|while-locked/);
          return true;
        });
      }
      // What the Secret Service does: searching a locked collection finds nothing to unlock.
      assert.equal(await secrets.get(newAccount(), 'refresh-token'), undefined);
    } finally {
      await private_.unlock();
    }
    assert.equal(
      (await secrets.get(account, 'refresh-token'))?.reveal(),
      'before-lock',
      'untouched by the failures',
    );
  });

  test('with more than 1024 descriptors open in this process, set and get still work within their deadline', async () => {
    // libdbus hangs (or crashes) on a socket descriptor ≥ 1024, which a herd of connections gives
    // the broker; the native calls run in a child process whose fd table stays small.
    const held: number[] = [];
    try {
      while (held.length < 1100) held.push(openSync('/dev/null', 'r'));
      assert.ok(held.at(-1)! >= 1024, `the last descriptor is ${held.at(-1)}`);
      const secrets = new KeyringSecretStore({ service, timeoutMs: 10_000 });
      const account = newAccount();
      await secrets.set(account, 'refresh-token', new Secret('through-a-crowded-fd-table'));
      assert.equal((await secrets.get(account, 'refresh-token'))?.reveal(), 'through-a-crowded-fd-table');
      await secrets.delete(account, 'refresh-token');
      assert.equal(await secrets.get(account, 'refresh-token'), undefined);
    } finally {
      for (const fd of held) closeSync(fd);
    }
  });

  test('a hung Secret Service fails (after the binding’s ~2 s D-Bus timeout) instead of hanging', async () => {
    const private_ = privateKeyring();
    const pid = await private_.secretServicePid();
    assert.ok(pid);
    process.kill(pid, 'SIGSTOP');
    try {
      await assert.rejects(store().get(newAccount(), 'refresh-token'), (error: unknown) => {
        assert.ok(error instanceof KeychainUnavailableError);
        assert.equal(error.reason, 'failed');
        assert.match(error.detail ?? '', /Did not receive a reply/);
        return true;
      });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(await store().get(newAccount(), 'refresh-token'), undefined, 'works again');
  });

  test('a hung Secret Service never blocks this thread; calls made while it is stuck fail at once; a stuck call past its deadline gets a fresh host process', async () => {
    const private_ = privateKeyring();
    const account = newAccount();
    await store().set(account, 'refresh-token', new Secret('kept-through-the-hang'));
    const pid = await private_.secretServicePid();
    assert.ok(pid);
    // The event loop's longest gap while the native call hangs (the binding waits ~2 s for D-Bus).
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 10);
    process.kill(pid, 'SIGSTOP');
    try {
      const hung = store().get(account, 'refresh-token');
      const hungOutcome = hung.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 1300)); // past the 1 s stall mark
      const startedFast = performance.now();
      await assert.rejects(store().get(account, 'password'), (error: unknown) => {
        assert.ok(error instanceof KeychainUnavailableError);
        assert.equal(error.reason, 'failed');
        assert.match(error.message, /^The keychain failed; .*in memory only/);
        assert.match(error.detail ?? '', /has not answered an earlier get call for 1\.\d s/);
        return true;
      });
      assert.ok(performance.now() - startedFast < 100, 'refused at once, not queued behind the hung call');
      const outcome = await hungOutcome;
      assert.ok(outcome instanceof KeychainUnavailableError, String(outcome));
      assert.match(outcome.detail ?? '', /Did not receive a reply/);
      // A deadline shorter than the D-Bus timeout: the stuck host is killed, not waited for.
      const short = new KeyringSecretStore({ service, timeoutMs: 300 });
      const startedShort = performance.now();
      await assert.rejects(short.get(account, 'refresh-token'), { reason: 'locked' });
      assert.ok(performance.now() - startedShort < 1000);
    } finally {
      process.kill(pid, 'SIGCONT');
      clearInterval(ticker);
    }
    // 10 ms ticks; 200 ms is the bar for /v1/health and leaves room for a loaded CI box.
    assert.ok(maxGap < 200, `the event loop stalled ${Math.round(maxGap)} ms`);
    // Back: a fresh host serves.
    await waitUntil(() =>
      store()
        .get(account, 'refresh-token')
        .then(
          (v) => v?.reveal() === 'kept-through-the-hang',
          () => false,
        ),
    );
  });
});

async function waitUntil(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('KeyringSecretStore without a usable Secret Service (child processes)', { skip }, () => {
  const folders: string[] = [];
  after(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });
  const emptyFolder = async () => {
    const folder = await mkdtemp(join(tmpdir(), 'pikpak-nosession-'));
    folders.push(folder);
    return folder;
  };
  const allOps = (account: string) => [
    { op: 'get' as const, account, kind: 'refresh-token' as const },
    { op: 'set' as const, account, kind: 'refresh-token' as const, value: 'x' },
    { op: 'delete' as const, account, kind: 'refresh-token' as const },
  ];

  test('no session bus (address to a missing socket): no-session on every operation', async () => {
    const outcomes = await runKeyringChild(noSessionEnv(await emptyFolder()), {
      service,
      ops: allOps(newAccount()),
    });
    assert.equal(outcomes.length, 3);
    for (const outcome of outcomes) {
      assertUnavailable(outcome, 'no-session');
      assert.match(outcome.detail ?? '', /Failed to connect to socket .*no-such-bus/);
      assert.match(outcome.message, /No D-Bus session bus/);
      assert.match(outcome.message, /gnome-keyring or KeePassXC/);
    }
  });

  test('no DBUS_SESSION_BUS_ADDRESS at all: no-session, and no silent fallback to the kernel keyring', async () => {
    const outcomes = await runKeyringChild(noSessionEnv(await emptyFolder(), { unset: true }), {
      service,
      ops: allOps(newAccount()),
    });
    for (const outcome of outcomes) {
      assertUnavailable(outcome, 'no-session');
      assert.match(outcome.detail ?? '', /DBUS_SESSION_BUS_ADDRESS|Failed to connect/);
    }
  });

  test('a bus without a Secret Service: no-session', async () => {
    const bare = await startPrivateKeyring({ secretService: false });
    assert.ok(!('skipped' in bare));
    try {
      const outcomes = await runKeyringChild(bare.env, { service, ops: allOps(newAccount()) });
      for (const outcome of outcomes) {
        assertUnavailable(outcome, 'no-session');
        assert.match(
          outcome.detail ?? '',
          /org\.freedesktop\.secrets was not provided by any \.service files/,
        );
        assert.match(
          outcome.message,
          /^No Secret Service on D-Bus: install\/start gnome-keyring or KeePassXC/,
        );
      }
    } finally {
      await bare.stop();
    }
  });

  test('a bus that refuses access to the Secret Service (D-Bus policy): denied', async () => {
    const refusing = await startPrivateKeyring({ denyAccess: true });
    assert.ok(!('skipped' in refusing));
    try {
      const outcomes = await runKeyringChild(refusing.env, { service, ops: allOps(newAccount()) });
      for (const outcome of outcomes) {
        assertUnavailable(outcome, 'denied');
        assert.match(outcome.detail ?? '', /Rejected send message/);
      }
    } finally {
      await refusing.stop();
    }
  });

  test('the Secret Service going away mid-session: no-session, then back after restart', async () => {
    const session = await startPrivateKeyring();
    assert.ok(!('skipped' in session));
    try {
      const account = newAccount();
      assert.deepEqual(
        await runKeyringChild(session.env, {
          service,
          ops: [{ op: 'set', account, kind: 'password', value: 'kept' }],
        }),
        [{ ok: true }],
      );
      await session.stopSecretService();
      const [gone] = await runKeyringChild(session.env, {
        service,
        ops: [{ op: 'get', account, kind: 'password' }],
      });
      assertUnavailable(gone, 'no-session');
      await session.unlock(); // starts gnome-keyring again on the same bus
      assert.deepEqual(
        await runKeyringChild(session.env, { service, ops: [{ op: 'get', account, kind: 'password' }] }),
        [{ ok: true, value: 'kept' }],
      );
    } finally {
      await session.stop();
    }
  });
});

async function runSecretToolStore(
  env: Readonly<Record<string, string>>,
  serviceName: string,
  username: string,
  value: string,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'secret-tool',
      ['store', '--label=test', 'service', serviceName, 'username', username],
      {
        env: { ...env },
        stdio: ['pipe', 'ignore', 'inherit'],
      },
    );
    child.on('error', reject);
    child.on('exit', resolve);
    child.stdin.end(value);
  });
}
