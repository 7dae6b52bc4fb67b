/** A SecretStore in memory with switches for the failures a real keychain has. */
import type { SecretKind, SecretStore } from '../ports.js';
import type { Secret } from '../secret.js';

export class FakeSecretStore implements SecretStore {
  readonly description = 'fake keychain';
  readonly entries = new Map<string, Secret>();
  available = true;
  /** Calls to `set`, in order, for write-ordering assertions. */
  readonly writes: { account: string; kind: SecretKind; fingerprint: string }[] = [];
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** Makes the next writes wait until `release()`. */
  holdWrites(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    this.#check();
    return this.entries.get(`${account}/${kind}`);
  }

  async set(account: string, kind: SecretKind, value: Secret): Promise<void> {
    if (this.#gate) await this.#gate;
    this.#check();
    this.writes.push({ account, kind, fingerprint: value.fingerprint() });
    this.entries.set(`${account}/${kind}`, value);
  }

  async delete(account: string, kind: SecretKind): Promise<void> {
    this.#check();
    this.entries.delete(`${account}/${kind}`);
  }

  #check(): void {
    if (!this.available) throw new Error('fake keychain: the collection is locked');
  }
}
