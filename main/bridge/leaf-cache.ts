/**
 * Leaf certificates for the hosts the bridge intercepts, as ready-made TLS contexts: one per host
 * name, issued on first use, kept in memory only, and replaced before they expire. Concurrent
 * CONNECTs for a host that has none yet share one issuance.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { LeafCertificate, LocalCa } from './local-ca.js';

export interface LeafCacheOptions {
  /** Validity of a leaf; default 24 h. */
  readonly validityMs?: number;
  /** A leaf with less than this left is replaced; default 1 h. */
  readonly renewBeforeMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

interface Entry {
  readonly leaf: LeafCertificate;
  readonly context: SecureContext;
}

export class LeafCache {
  readonly #ca: LocalCa;
  readonly #validityMs: number;
  readonly #renewBeforeMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();
  #issued = 0;

  constructor(ca: LocalCa, options: LeafCacheOptions = {}) {
    this.#ca = ca;
    this.#validityMs = options.validityMs ?? 24 * 3600 * 1000;
    this.#renewBeforeMs = Math.min(options.renewBeforeMs ?? 3600 * 1000, this.#validityMs / 2);
    this.#now = options.now ?? Date.now;
  }

  /** How many leaves were issued so far (cache misses and renewals). */
  get issued(): number {
    return this.#issued;
  }

  /** The current leaf for `host`, issuing or renewing it first when needed. */
  async leaf(host: string): Promise<LeafCertificate> {
    return (await this.#entry(host)).leaf;
  }

  /** A TLS context presenting the current leaf for `host` (and the CA certificate after it). */
  async secureContext(host: string): Promise<SecureContext> {
    return (await this.#entry(host)).context;
  }

  async #entry(host: string): Promise<Entry> {
    const key = host.toLowerCase().replace(/\.$/, '');
    const cached = this.#entries.get(key);
    if (cached && cached.leaf.notAfter.getTime() - this.#renewBeforeMs > this.#now()) return cached;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#issue(key).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #issue(host: string): Promise<Entry> {
    const leaf = await this.#ca.issueLeaf(host, this.#validityMs);
    const context = createSecureContext({
      cert: leaf.certChainPem,
      key: leaf.keyPem.reveal(),
      minVersion: 'TLSv1.2',
    });
    const entry = { leaf, context };
    this.#entries.set(host, entry);
    this.#issued += 1;
    return entry;
  }
}
