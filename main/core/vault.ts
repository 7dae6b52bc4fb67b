/**
 * The vault: the keychain (SecretStore) with an in-memory copy in front of it.
 *
 * Reads prefer the keychain (another holder may have rotated a token there) and fall back to
 * memory when it is unavailable. Writes always land in memory first, then go to the keychain;
 * a failed keychain write is remembered as pending and retried by `flush()`, never written to a
 * plaintext file. `status` says which of the two is true right now.
 */
import { EventEmitter } from 'node:events';
import { Secret } from './secret.js';
import type { Logger, SecretKind, SecretStore } from './ports.js';

export interface VaultStatus {
  /** Whether the last keychain operation succeeded. */
  readonly available: boolean;
  /** Why not, in words, when unavailable. */
  readonly problem: string | undefined;
  /** Secrets held only in memory, waiting for the keychain (count, never values). */
  readonly pendingWrites: number;
}

const PROBE_VALUE = new Secret('probe');

type Key = `${string}\u0000${SecretKind}`;
const keyOf = (account: string, kind: SecretKind): Key => `${account}\u0000${kind}`;

export interface VaultEvents {
  status: [VaultStatus];
}

export class Vault extends EventEmitter<VaultEvents> {
  readonly #store: SecretStore;
  readonly #log: Logger;
  readonly #memory = new Map<Key, Secret>();
  /** Keys whose newest value (or deletion) has not reached the keychain yet. */
  readonly #pending = new Map<Key, { account: string; kind: SecretKind; value: Secret | undefined }>();
  #status: VaultStatus = { available: true, problem: undefined, pendingWrites: 0 };
  #answered!: () => void;
  /** Settles at the keychain's first answer, success or failure (see `firstAnswer`). */
  readonly #firstAnswer = new Promise<void>((resolve) => (this.#answered = resolve));

  constructor(store: SecretStore, log: Logger) {
    super();
    this.#store = store;
    this.#log = log;
  }

  get description(): string {
    return this.#store.description;
  }

  get status(): VaultStatus {
    return this.#status;
  }

  /**
   * Settles once the keychain has answered a call (or failed one): until then `status` says
   * "available" only because nothing said otherwise. The keychain host process takes a moment to
   * start, so a status asked right after start-up waits for this (bounded by the caller).
   */
  get firstAnswer(): Promise<void> {
    return this.#firstAnswer;
  }

  /** The keychain's value (refreshing memory), or memory's when the keychain is unavailable. */
  async get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    const key = keyOf(account, kind);
    // A pending write is newer than whatever the keychain holds.
    if (this.#pending.has(key)) return this.#pending.get(key)!.value;
    try {
      const value = await this.#store.get(account, kind);
      this.#markAvailable();
      if (value) this.#memory.set(key, value);
      else this.#memory.delete(key);
      return value;
    } catch (error) {
      this.#markUnavailable(error);
      return this.#memory.get(key);
    }
  }

  /**
   * Stores in memory at once, then in the keychain. Resolves `true` when the keychain has it,
   * `false` when it is kept in memory only (pending; `flush()` retries). Never throws for a
   * keychain failure: callers decide what "only in memory" means for them.
   */
  async set(account: string, kind: SecretKind, value: Secret): Promise<boolean> {
    const key = keyOf(account, kind);
    this.#memory.set(key, value);
    this.#pending.set(key, { account, kind, value });
    return this.#write(key);
  }

  async delete(account: string, kind: SecretKind): Promise<boolean> {
    const key = keyOf(account, kind);
    this.#memory.delete(key);
    this.#pending.set(key, { account, kind, value: undefined });
    return this.#write(key);
  }

  /**
   * Whether the keychain accepts a write right now (a locked collection still answers reads of
   * missing entries, so only a write tells). Writes and removes a throw-away entry.
   */
  async probeWritable(): Promise<boolean> {
    const probe = '.pikpak-token-broker-probe';
    try {
      await this.#store.set(probe, 'refresh-token', PROBE_VALUE);
      await this.#store.delete(probe, 'refresh-token');
      this.#markAvailable();
      return true;
    } catch (error) {
      this.#markUnavailable(error);
      return false;
    }
  }

  /**
   * Retries every pending write (or only `only`'s). Resolves true when nothing (of that) is
   * pending any more.
   */
  async flush(only?: { account: string; kind: SecretKind }): Promise<boolean> {
    if (only) {
      const key = keyOf(only.account, only.kind);
      await this.#write(key);
      return !this.#pending.has(key);
    }
    for (const key of [...this.#pending.keys()]) await this.#write(key);
    return this.#pending.size === 0;
  }

  hasPending(account: string, kind: SecretKind): boolean {
    return this.#pending.has(keyOf(account, kind));
  }

  async #write(key: Key): Promise<boolean> {
    const entry = this.#pending.get(key);
    if (!entry) return true;
    try {
      if (entry.value) await this.#store.set(entry.account, entry.kind, entry.value);
      else await this.#store.delete(entry.account, entry.kind);
      // Only clear if no newer value arrived while we were writing.
      if (this.#pending.get(key) === entry) this.#pending.delete(key);
      this.#markAvailable();
      return !this.#pending.has(key);
    } catch (error) {
      this.#markUnavailable(error);
      return false;
    }
  }

  #markAvailable(): void {
    this.#answered();
    this.#setStatus({ available: true, problem: undefined, pendingWrites: this.#pending.size });
  }

  #markUnavailable(error: unknown): void {
    this.#answered();
    const problem = error instanceof Error ? error.message : 'the keychain refused the operation';
    this.#setStatus({ available: false, problem, pendingWrites: this.#pending.size });
  }

  #setStatus(next: VaultStatus): void {
    const prev = this.#status;
    if (
      prev.available === next.available &&
      prev.problem === next.problem &&
      prev.pendingWrites === next.pendingWrites
    )
      return;
    this.#status = next;
    if (prev.available !== next.available) {
      if (next.available) this.#log.info({ keychain: this.#store.description }, 'keychain available again');
      else
        this.#log.warn(
          { keychain: this.#store.description, problem: next.problem },
          'keychain unavailable; keeping secrets in memory only',
        );
    }
    this.emit('status', next);
  }
}
