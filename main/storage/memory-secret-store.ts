/**
 * `SecretStore` in memory: the stand-in while the keychain is unavailable (nothing is persisted,
 * nothing touches the disk) and the fake for tests, with fault injection:
 * - `setAvailable(false, reason)` makes every operation throw `KeychainUnavailableError(reason)`
 *   until `setAvailable(true)`;
 * - `failNext(op, error?)` makes the next `op` (or the next operation of any kind) throw once;
 * - `calls` records every operation (account, kind, op, outcome) for assertions;
 * - `peek` reads a value without counting as a call and without faults.
 */
import { KeychainUnavailableError, type KeychainUnavailableReason } from '../core/errors/index.js';
import type { SecretKind, SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';

export type SecretStoreOperation = 'get' | 'set' | 'delete';

export interface SecretStoreCall {
  op: SecretStoreOperation;
  account: string;
  kind: SecretKind;
  outcome: 'ok' | 'error';
}

export class MemorySecretStore implements SecretStore {
  readonly description = 'memory (not persisted)';
  readonly #values = new Map<string, Secret>();
  readonly #faults: Array<{ op: SecretStoreOperation | 'any'; error: Error }> = [];
  #unavailable: KeychainUnavailableReason | undefined;
  readonly #calls: SecretStoreCall[] = [];

  constructor(initial: Iterable<readonly [account: string, kind: SecretKind, value: Secret | string]> = []) {
    for (const [account, kind, value] of initial) {
      this.#values.set(key(account, kind), typeof value === 'string' ? new Secret(value) : value);
    }
  }

  get calls(): readonly SecretStoreCall[] {
    return this.#calls;
  }

  get size(): number {
    return this.#values.size;
  }

  /** While unavailable, every operation throws `KeychainUnavailableError(reason)`. */
  setAvailable(available: boolean, reason: KeychainUnavailableReason = 'no-session'): void {
    this.#unavailable = available ? undefined : reason;
  }

  /** The next `op` (or any operation) throws `error` (default: `KeychainUnavailableError('failed')`). */
  failNext(op: SecretStoreOperation | 'any', error: Error = new KeychainUnavailableError('failed')): void {
    this.#faults.push({ op, error });
  }

  peek(account: string, kind: SecretKind): Secret | undefined {
    return this.#values.get(key(account, kind));
  }

  async get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    await this.#enter('get', account, kind);
    return this.#values.get(key(account, kind));
  }

  async set(account: string, kind: SecretKind, value: Secret): Promise<void> {
    if (!(value instanceof Secret)) throw new TypeError('MemorySecretStore.set expects a Secret');
    if (value.isEmpty) throw new TypeError(`Refusing to store an empty ${kind}`);
    await this.#enter('set', account, kind);
    this.#values.set(key(account, kind), value);
  }

  async delete(account: string, kind: SecretKind): Promise<void> {
    await this.#enter('delete', account, kind);
    this.#values.delete(key(account, kind));
  }

  /** Asynchronous like the real store, then applies the injected faults. */
  async #enter(op: SecretStoreOperation, account: string, kind: SecretKind): Promise<void> {
    await Promise.resolve();
    const call: SecretStoreCall = { op, account, kind, outcome: 'error' };
    this.#calls.push(call);
    if (this.#unavailable) throw new KeychainUnavailableError(this.#unavailable);
    const index = this.#faults.findIndex((fault) => fault.op === op || fault.op === 'any');
    if (index >= 0) {
      const [fault] = this.#faults.splice(index, 1);
      if (fault) throw fault.error;
    }
    call.outcome = 'ok';
  }
}

function key(account: string, kind: SecretKind): string {
  return `${account}/${kind}`;
}
