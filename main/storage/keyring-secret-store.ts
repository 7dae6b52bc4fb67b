/**
 * `SecretStore` over the OS keychain through `@napi-rs/keyring` (macOS Keychain, Windows
 * Credential Manager, Linux Secret Service). One entry per (account, kind): service = the
 * configured service name, user = `<account>/<kind>`.
 *
 * Linux: entries are pinned to the Secret Service. Unpinned, the binding silently falls back to
 * the kernel keyring (keyutils), which lives in memory only and forgets every token at reboot;
 * pinned, a missing Secret Service is an error we can report. There is no plaintext fallback.
 *
 * Facts about the binding (v2.1.2, checked against a private gnome-keyring, see
 * keyring-secret-store.test.ts):
 * - every native error has `code: 'GenericFailure'`; only the message tells them apart;
 * - the D-Bus session address is read once per process, at the first keychain call (libdbus
 *   caches it): changing DBUS_SESSION_BUS_ADDRESS afterwards has no effect;
 * - `new AsyncEntry` connects to D-Bus synchronously (a few ms; when the Secret Service hangs, it
 *   blocks the calling thread until the ~2 s D-Bus reply timeout and throws `Did not receive a reply`);
 * - an absent entry reads as null, even in a locked collection; deleting it resolves false.
 *
 * - libdbus hangs, or crashes the process with SIGSEGV, when its socket gets a descriptor ≥ 1024
 *   (checked: 1030 open files, then `setPassword` never returns), as it does during a herd.
 *
 * So the native calls run in a child process (keyring-host.ts, through KeyringHost): its fd table
 * stays small, a hung Secret Service blocks it and never the event loop, a call past its deadline
 * kills it; calls made while it is stuck fail at once as unavailable instead of queueing (see
 * keyring-host-client.ts).
 */
import type { AsyncEntry } from '@napi-rs/keyring';
import { KeychainUnavailableError, type KeychainUnavailableReason } from '../core/errors/index.js';
import type { SecretKind, SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { KeychainDeadlineError } from './keychain-deadline-error.js';
import { KeychainStalledError } from './keychain-stalled-error.js';
import { sharedKeyringHost, type KeyringHost } from './keyring-host-client.js';
import type { KeyringOperation } from './keyring-host-protocol.js';

export const DEFAULT_KEYRING_SERVICE = 'pikpak-token-broker';

export interface KeyringSecretStoreOptions {
  /** The keychain's service name (default `pikpak-token-broker`); tests use their own. */
  service?: string;
  /**
   * How long one operation may take before it counts as failed: an unlock prompt nobody answers
   * must not stall a refresh forever. Default 2 minutes.
   */
  timeoutMs?: number;
  /** For messages and the description; defaults to `process.platform`. */
  platform?: NodeJS.Platform;
  /**
   * Builds an entry called on this thread; tests pass a fake. Default: none, the native calls run
   * in the keychain host process (pinned to the Secret Service as described above).
   */
  createEntry?: (service: string, user: string) => KeyringEntry;
  /** The host process running the native calls; default the process's shared one. */
  host?: KeyringHost;
}

/** The part of `AsyncEntry` this store uses. */
export type KeyringEntry = Pick<AsyncEntry, 'getPassword' | 'setPassword' | 'deleteCredential'>;

type Operation = KeyringOperation;

export class KeyringSecretStore implements SecretStore {
  readonly description: string;
  readonly service: string;
  readonly #timeoutMs: number;
  readonly #platform: NodeJS.Platform;
  readonly #createEntry: ((service: string, user: string) => KeyringEntry) | undefined;
  readonly #host: KeyringHost | undefined;

  constructor(options: KeyringSecretStoreOptions = {}) {
    this.service = options.service ?? DEFAULT_KEYRING_SERVICE;
    if (!this.service) throw new TypeError('KeyringSecretStore: service must not be empty');
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#platform = options.platform ?? process.platform;
    this.#createEntry = options.createEntry;
    this.#host = options.host;
    this.description = describeKeychain(this.#platform);
  }

  /** The user name of the entry holding `kind` for `account`. */
  static entryUser(account: string, kind: SecretKind): string {
    return `${account}/${kind}`;
  }

  async get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    const value = await this.#run('get', account, kind, undefined, (entry, signal) =>
      entry.getPassword(signal),
    );
    return Secret.maybe(typeof value === 'string' ? value : null);
  }

  async set(account: string, kind: SecretKind, value: Secret): Promise<void> {
    if (!(value instanceof Secret)) throw new TypeError('KeyringSecretStore.set expects a Secret');
    if (value.isEmpty) throw new TypeError(`Refusing to store an empty ${kind}`);
    await this.#run('set', account, kind, value, (entry, signal) =>
      entry.setPassword(value.reveal(), signal),
    );
  }

  async delete(account: string, kind: SecretKind): Promise<void> {
    await this.#run('delete', account, kind, undefined, (entry, signal) => entry.deleteCredential(signal));
  }

  async #run(
    operation: Operation,
    account: string,
    kind: SecretKind,
    value: Secret | undefined,
    call: (entry: KeyringEntry, signal: AbortSignal) => Promise<string | boolean | null | void>,
  ): Promise<string | boolean | null | void> {
    if (!account) throw new TypeError('account must not be empty');
    const user = KeyringSecretStore.entryUser(account, kind);
    try {
      const createEntry = this.#createEntry;
      if (!createEntry) {
        const host = this.#host ?? sharedKeyringHost();
        return await host.call(
          { op: operation, service: this.service, user, ...(value ? { value: value.reveal() } : {}) },
          this.#timeoutMs,
        );
      }
      // A fresh entry per call: the constructor (re)connects, so a keychain that comes back is used.
      const entry = createEntry(this.service, user);
      return await withDeadline((signal) => call(entry, signal), this.#timeoutMs, operation);
    } catch (error) {
      throw mapKeyringError(error, { operation, platform: this.#platform, timeoutMs: this.#timeoutMs });
    }
  }
}

function describeKeychain(platform: NodeJS.Platform): string {
  switch (platform) {
    case 'darwin':
      return 'macOS Keychain';
    case 'win32':
      return 'Windows Credential Manager';
    default:
      return 'Secret Service (gnome-keyring, KWallet, KeePassXC)';
  }
}

/**
 * Runs `call` with a signal that aborts after `ms`, and rejects with KeychainDeadlineError then even if
 * the call ignores its signal (the binding does not abort a D-Bus call in flight). The timer is
 * cleared as soon as the call settles, so it keeps the process alive only while a call is pending.
 */
function withDeadline<T>(
  call: (signal: AbortSignal) => Promise<T>,
  ms: number,
  operation: Operation,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort();
      reject(new KeychainDeadlineError(operation, ms));
    }, ms);
    let pending: Promise<T>;
    try {
      pending = call(controller.signal);
    } catch (error) {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Patterns over the native messages (and their causes). Observed on Linux with gnome-keyring:
 * - no bus:      `Platform failure: DBus error: Failed to connect to socket /x: No such file or directory`
 * - no bus set:  `Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead`
 * - no service:  `Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files`
 * - locked:      `Couldn't access platform storage: Secret Service: unlock prompt was dismissed`
 * - refused:     `Platform failure: DBus error: Rejected send message, 2 matched rules; …` (D-Bus policy)
 * - hung daemon: `Platform failure: DBus error: Did not receive a reply. …` (after ~2 s)
 * macOS and Windows texts come from the platforms' documented status messages.
 */
const PATTERNS: ReadonlyArray<[KeychainUnavailableReason, RegExp]> = [
  [
    'no-session',
    /Failed to connect to socket|DBUS_SESSION_BUS_ADDRESS|autolaunch|not provided by any \.service files|ServiceUnknown|NameHasNoOwner|Connection refused/i,
  ],
  [
    'locked',
    /prompt was dismissed|\blocked\b|User interaction is not allowed|errSecInteractionNotAllowed|-25308/i,
  ],
  [
    'denied',
    /Rejected send message|AccessDenied|access denied|access is denied|permission denied|not authori[sz]ed|user cancell?ed|errSecAuthFailed|-25293|-128\b/i,
  ],
];

/** Maps anything the binding throws to `KeychainUnavailableError` with the right reason. */
export function mapKeyringError(
  error: unknown,
  context: { operation?: Operation; platform?: NodeJS.Platform; timeoutMs?: number } = {},
): KeychainUnavailableError {
  if (error instanceof KeychainUnavailableError) return error;
  if (error instanceof KeychainStalledError) {
    return new KeychainUnavailableError('failed', { detail: error.message, cause: error });
  }
  if (error instanceof KeychainDeadlineError || (error instanceof Error && error.name === 'AbortError')) {
    const ms = context.timeoutMs ?? 0;
    const within = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    return new KeychainUnavailableError('locked', {
      message: `The keychain did not answer within ${within} (an unlock prompt may be waiting): unlock it; the broker keeps tokens in memory only until it is available`,
      detail: context.operation ? `${context.operation} timed out` : undefined,
      cause: error,
    });
  }
  const detail = nativeMessage(error);
  const reason = PATTERNS.find(([, pattern]) => pattern.test(detail))?.[0] ?? 'failed';
  return new KeychainUnavailableError(reason, {
    message: adviceFor(reason, context.platform ?? process.platform, detail),
    detail,
    cause: error,
  });
}

/** The outermost message (the binding repeats its causes inside it). */
function nativeMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function adviceFor(reason: KeychainUnavailableReason, platform: NodeJS.Platform, detail: string): string {
  const advice = KeychainUnavailableError.advice(reason);
  if (reason !== 'no-session' || platform === 'darwin' || platform === 'win32') return advice;
  // libdbus reads the bus address once per process: a broker started without one must be restarted.
  if (/Failed to connect to socket|DBUS_SESSION_BUS_ADDRESS|autolaunch/i.test(detail)) {
    return (
      'No D-Bus session bus, so no Secret Service: run the broker inside your desktop session ' +
      '(or with DBUS_SESSION_BUS_ADDRESS set; it is read once, at start-up, so restart the broker) ' +
      'with gnome-keyring or KeePassXC running; the broker keeps tokens in memory only until it is available'
    );
  }
  return advice;
}
