/**
 * KeyringSecretStore against fake native entries: error mapping, deadlines, argument checks.
 * No keychain is touched here (see keyring-secret-store.test.ts for the real one).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeychainUnavailableError } from '../core/errors/index.js';
import { Secret } from '../core/secret.js';
import { KeyringSecretStore, mapKeyringError, type KeyringEntry } from './keyring-secret-store.js';

/** What @napi-rs/keyring throws: a plain Error with code GenericFailure and the cause chain. */
function nativeError(message: string): Error {
  const inner = message.replace(/^[^:]+: /, '');
  return Object.assign(
    new Error(message, { cause: Object.assign(new Error(inner), { code: 'GenericFailure' }) }),
    {
      code: 'GenericFailure',
    },
  );
}

describe('mapKeyringError', () => {
  const cases: Array<[string, KeychainUnavailableError['reason'], NodeJS.Platform]> = [
    // Observed on Linux (see keyring-secret-store.test.ts)
    [
      'Platform failure: DBus error: Failed to connect to socket /x/bus: No such file or directory',
      'no-session',
      'linux',
    ],
    [
      'Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead',
      'no-session',
      'linux',
    ],
    [
      'Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files',
      'no-session',
      'linux',
    ],
    ["Couldn't access platform storage: Secret Service: unlock prompt was dismissed", 'locked', 'linux'],
    [
      'Platform failure: DBus error: Rejected send message, 2 matched rules; type="method_call", destination="org.freedesktop.secrets"',
      'denied',
      'linux',
    ],
    ["Couldn't access platform storage: AccessDenied", 'denied', 'linux'],
    ['Platform failure: DBus error: Did not receive a reply. Possible causes include: …', 'failed', 'linux'],
    // macOS Security framework status texts
    ["Couldn't access platform storage: User interaction is not allowed.", 'locked', 'darwin'],
    [
      "Couldn't access platform storage: The user name or passphrase you entered is not correct. (errSecAuthFailed)",
      'denied',
      'darwin',
    ],
    ["Couldn't access platform storage: User canceled the operation.", 'denied', 'darwin'],
    // Windows
    ['Platform failure: Access is denied. (0x80070005)', 'denied', 'win32'],
    ['Platform failure: something nobody expected', 'failed', 'win32'],
  ];
  for (const [message, reason, platform] of cases) {
    test(`${reason} ← ${message.slice(0, 70)}`, () => {
      const native = nativeError(message);
      const mapped = mapKeyringError(native, { operation: 'get', platform });
      assert.ok(mapped instanceof KeychainUnavailableError);
      assert.equal(mapped.reason, reason);
      assert.equal(mapped.code, 'keychain_unavailable');
      assert.equal(mapped.detail, message);
      assert.equal(mapped.cause, native);
      assert.ok(mapped.message.endsWith(`(${message})`));
    });
  }

  test('no session on Linux: the message says what to install, and to restart when the bus was missing', () => {
    const noService = mapKeyringError(
      nativeError(
        'Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files',
      ),
      { platform: 'linux' },
    );
    assert.match(
      noService.message,
      /^No Secret Service on D-Bus: install\/start gnome-keyring or KeePassXC; the broker keeps tokens in memory only until it is available/,
    );
    const noBus = mapKeyringError(
      nativeError('Platform failure: DBus error: Failed to connect to socket /x: No such file'),
      {
        platform: 'linux',
      },
    );
    assert.match(noBus.message, /No D-Bus session bus/);
    assert.match(noBus.message, /restart the broker/);
    assert.match(noBus.message, /gnome-keyring or KeePassXC/);
  });

  test('a KeychainUnavailableError passes through; non-Errors are described', () => {
    const error = new KeychainUnavailableError('denied');
    assert.equal(mapKeyringError(error), error);
    assert.equal(mapKeyringError('weird').reason, 'failed');
    assert.equal(mapKeyringError('weird').detail, 'weird');
  });
});

describe('KeyringSecretStore with a fake entry', () => {
  function fakeStore(entry: Partial<KeyringEntry> | (() => never), options: { timeoutMs?: number } = {}) {
    const created: Array<[string, string]> = [];
    const store = new KeyringSecretStore({
      service: 'svc',
      platform: 'linux',
      ...options,
      createEntry: (service, user) => {
        created.push([service, user]);
        if (typeof entry === 'function') return entry();
        return {
          getPassword: entry.getPassword ?? (() => Promise.resolve(null)),
          setPassword: entry.setPassword ?? (() => Promise.resolve()),
          deleteCredential: entry.deleteCredential ?? (() => Promise.resolve(false)),
        };
      },
    });
    return { store, created };
  }

  test('entry per (account, kind): service and `<account>/<kind>`', async () => {
    const { store, created } = fakeStore({});
    await store.get('main', 'refresh-token');
    await store.set('main', 'password', new Secret('pw'));
    await store.delete('other', 'refresh-token');
    assert.deepEqual(created, [
      ['svc', 'main/refresh-token'],
      ['svc', 'main/password'],
      ['svc', 'other/refresh-token'],
    ]);
  });

  test('values come back wrapped in Secret; null and empty read as absent', async () => {
    for (const [stored, expected] of [
      ['tok', 'tok'],
      [null, undefined],
      ['', undefined],
    ] as const) {
      const { store } = fakeStore({ getPassword: () => Promise.resolve(stored) });
      const value = await store.get('a', 'refresh-token');
      if (expected === undefined) assert.equal(value, undefined);
      else {
        assert.ok(value instanceof Secret);
        assert.equal(value.reveal(), expected);
      }
    }
  });

  test('set reveals the secret only to the native call and refuses empty values', async () => {
    const written: string[] = [];
    const { store } = fakeStore({
      setPassword: (password) => {
        written.push(password);
        return Promise.resolve();
      },
    });
    await store.set('a', 'refresh-token', new Secret('tok-1'));
    assert.deepEqual(written, ['tok-1']);
    await assert.rejects(store.set('a', 'refresh-token', new Secret('')), TypeError);
    await assert.rejects(store.set('a', 'refresh-token', 'plain' as unknown as Secret), TypeError);
    await assert.rejects(store.get('', 'refresh-token'), TypeError);
    assert.deepEqual(written, ['tok-1']);
  });

  test('a constructor that throws (Linux: no bus) and a rejected call are both mapped', async () => {
    const { store: noBus } = fakeStore(() => {
      throw nativeError(
        'Platform failure: DBus error: Failed to connect to socket /nope: No such file or directory',
      );
    });
    await assert.rejects(noBus.get('a', 'refresh-token'), {
      name: 'KeychainUnavailableError',
      reason: 'no-session',
    });
    const { store: locked } = fakeStore({
      setPassword: () =>
        Promise.reject(
          nativeError("Couldn't access platform storage: Secret Service: unlock prompt was dismissed"),
        ),
    });
    await assert.rejects(locked.set('a', 'password', new Secret('x')), { reason: 'locked' });
  });

  test('an operation that never answers fails after timeoutMs as locked (a prompt may be waiting)', async () => {
    const { store } = fakeStore(
      { getPassword: () => new Promise<never>(() => undefined) },
      { timeoutMs: 50 },
    );
    const started = Date.now();
    await assert.rejects(store.get('a', 'refresh-token'), (error: unknown) => {
      assert.ok(error instanceof KeychainUnavailableError);
      assert.equal(error.reason, 'locked');
      assert.match(
        error.message,
        /^The keychain did not answer within 50 ms \(an unlock prompt may be waiting\)/,
      );
      assert.equal(error.detail, 'get timed out');
      return true;
    });
    assert.ok(Date.now() - started < 2_000);
  });

  test('the signal handed to the native call aborts at the deadline', async () => {
    let seen: AbortSignal | undefined;
    const { store } = fakeStore(
      {
        deleteCredential: (signal) => {
          seen = signal ?? undefined;
          return new Promise<boolean>(() => undefined);
        },
      },
      { timeoutMs: 30 },
    );
    await assert.rejects(store.delete('a', 'password'), { reason: 'locked' });
    assert.equal(seen?.aborted, true);
  });

  test('description names the platform keychain', () => {
    assert.match(new KeyringSecretStore({ platform: 'linux' }).description, /Secret Service/);
    assert.equal(new KeyringSecretStore({ platform: 'darwin' }).description, 'macOS Keychain');
    assert.equal(new KeyringSecretStore({ platform: 'win32' }).description, 'Windows Credential Manager');
    assert.equal(new KeyringSecretStore().service, 'pikpak-token-broker');
  });
});
