/**
 * The token service's consumers: named clients, each with a bearer secret and the accounts it may
 * use. Persisted as `clients.json` in the data folder (0600, atomic writes, schema-validated); the
 * secrets themselves are never stored, only their SHA-256. A secret is shown once, by `add`.
 *
 * `authenticate` is on every request's path: synchronous, one SHA-256, then a constant-time
 * comparison against every stored hash (no early exit). `lastUsedAt` is kept in memory and
 * written at most once per `lastUsedWriteDelayMs`.
 *
 * The running service owns the file; other processes (the CLI) change clients through the
 * service's admin API, or open a registry of their own only while they hold the instance lock.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as v from 'valibot';
import { issueMessage, issuePath, type Issue } from '../validation/issues.js';
import { systemClock, type Clock, type Logger, type TimerHandle, silentLogger } from '../core/ports.js';
import type { Secret } from '../core/secret.js';
import { ensurePrivateDir } from '../storage/paths.js';
import { CLIENT_SECRET_PREFIX, digestHex, digestOf, generateSecret, sameDigest } from './bearer.js';
import {
  ClientExistsError,
  ClientNotFoundError,
  ClientRegistryCorruptError,
  InvalidClientError,
} from './errors/index.js';

export const CLIENTS_FILE = 'clients.json';
/** A client scoped to `["*"]` may use every account, present and future. */
export const ALL_ACCOUNTS = '*';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface Client {
  readonly name: string;
  /** Account names, or `["*"]` for all accounts. */
  readonly accounts: readonly string[];
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
}

export interface ClientRegistryOptions {
  readonly dataDir: string;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** How long a `lastUsedAt` change waits in memory before it is written (default 60 s). */
  readonly lastUsedWriteDelayMs?: number;
}

const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest'));
const timestamp = v.pipe(v.number(), v.integer(), v.minValue(0));
const clientRecordSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(NAME, 'expected a client name')),
  accounts: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
  secretHash: hex64,
  createdAt: timestamp,
  lastUsedAt: v.optional(timestamp),
});
const clientsFileSchema = v.strictObject({ version: v.literal(1), clients: v.array(clientRecordSchema) });
type ClientRecord = v.InferOutput<typeof clientRecordSchema>;

/** A client as held in memory; handed out typed as the read-only `Client`. */
interface Entry {
  name: string;
  accounts: readonly string[];
  createdAt: number;
  lastUsedAt: number | undefined;
}

export class ClientRegistry {
  readonly path: string;
  readonly #dataDir: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #delayMs: number;
  /** Parallel arrays: the hot path walks `#digests` without touching anything else. */
  #entries: Entry[] = [];
  #digests: Buffer[] = [];
  #hex: string[] = [];
  #queue: Promise<void> = Promise.resolve();
  #flushTimer: TimerHandle | undefined;
  #closed = false;

  private constructor(options: ClientRegistryOptions) {
    this.#dataDir = options.dataDir;
    this.path = join(options.dataDir, CLIENTS_FILE);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
    this.#delayMs = options.lastUsedWriteDelayMs ?? 60_000;
  }

  /** Loads `clients.json` (none yet: no clients). A bad file throws ClientRegistryCorruptError. */
  static async open(options: ClientRegistryOptions): Promise<ClientRegistry> {
    const registry = new ClientRegistry(options);
    await registry.#load();
    return registry;
  }

  list(): Client[] {
    return this.#entries.map((e) => ({ ...publicView(e) }));
  }

  get(name: string): Client | undefined {
    const entry = this.#entries.find((e) => e.name === name);
    return entry && { ...publicView(entry) };
  }

  /**
   * Creates a client and returns its secret, the only time it exists in clear. `accounts` lists
   * account names, or is `["*"]` for all accounts.
   */
  async add(name: string, accounts: readonly string[]): Promise<Secret> {
    this.#assertOpen();
    if (!NAME.test(name))
      throw new InvalidClientError(
        `"${name.slice(0, 80)}" is not a valid client name: use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
      );
    const scope = normalizeScope(accounts);
    if (this.#entries.some((e) => e.name === name)) throw new ClientExistsError(name);
    const secret = generateSecret(CLIENT_SECRET_PREFIX);
    const hex = digestHex(secret);
    this.#push({ name, accounts: scope, createdAt: this.#clock.now(), lastUsedAt: undefined }, hex);
    try {
      await this.#write();
    } catch (error) {
      this.#remove(name);
      throw error;
    }
    this.#log.info({ client: name, accounts: scope }, `client "${name}" created`);
    return secret;
  }

  /** Forgets a client: its secret stops working at once. */
  async revoke(name: string): Promise<void> {
    this.#assertOpen();
    const index = this.#entries.findIndex((e) => e.name === name);
    if (index === -1) throw new ClientNotFoundError(name);
    const removed = { entry: this.#entries[index]!, digest: this.#digests[index]!, hex: this.#hex[index]! };
    this.#remove(name);
    try {
      await this.#write();
    } catch (error) {
      this.#push(removed.entry, removed.hex);
      throw error;
    }
    this.#log.info({ client: name }, `client "${name}" revoked`);
  }

  /**
   * The client whose secret `bearer` is, or undefined. Always hashes once and compares against
   * every stored hash; the time taken does not depend on which (if any) matched.
   */
  authenticate(bearer: string | Secret): Client | undefined {
    return this.authenticateDigest(digestOf(typeof bearer === 'string' ? bearer : bearer.reveal()));
  }

  /** `authenticate` for a caller that already hashed the bearer (the service hashes once per request). */
  authenticateDigest(digest: Buffer): Client | undefined {
    let found = -1;
    const digests = this.#digests;
    for (let i = 0; i < digests.length; i++) if (sameDigest(digests[i]!, digest)) found = i;
    if (found === -1) return undefined;
    const entry = this.#entries[found]!;
    entry.lastUsedAt = this.#clock.now();
    this.#scheduleFlush();
    return entry;
  }

  /** Whether `client` may use `account` (no allocation: this is on the hot path). */
  static allows(client: Client, account: string): boolean {
    return client.accounts[0] === ALL_ACCOUNTS || client.accounts.includes(account);
  }

  /** Writes pending `lastUsedAt` changes now. */
  async flush(): Promise<void> {
    if (this.#flushTimer) {
      this.#clock.clearTimer(this.#flushTimer);
      this.#flushTimer = undefined;
      await this.#write();
    }
    await this.#queue;
  }

  /** Flushes and stops; later changes throw. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  async #load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(raw.replace(/^\uFEFF/, ''));
    } catch {
      throw new ClientRegistryCorruptError(this.path, 'not valid JSON');
    }
    const parsed = v.safeParse(clientsFileSchema, data);
    if (!parsed.success) throw new ClientRegistryCorruptError(this.path, firstIssue(parsed.issues));
    const seen = new Set<string>();
    for (const record of parsed.output.clients) {
      if (seen.has(record.name))
        throw new ClientRegistryCorruptError(this.path, `duplicate client "${record.name}"`);
      seen.add(record.name);
      let scope: string[];
      try {
        scope = normalizeScope(record.accounts);
      } catch (error) {
        throw new ClientRegistryCorruptError(
          this.path,
          `client "${record.name}": ${(error as Error).message}`,
        );
      }
      this.#push(
        {
          name: record.name,
          accounts: scope,
          createdAt: record.createdAt,
          lastUsedAt: record.lastUsedAt,
        },
        record.secretHash,
      );
    }
  }

  #push(entry: Entry, hex: string): void {
    this.#entries = [...this.#entries, entry];
    this.#digests = [...this.#digests, Buffer.from(hex, 'hex')];
    this.#hex = [...this.#hex, hex];
  }

  #remove(name: string): void {
    const keep = this.#entries.map((e) => e.name !== name);
    this.#entries = this.#entries.filter((_, i) => keep[i]);
    this.#digests = this.#digests.filter((_, i) => keep[i]);
    this.#hex = this.#hex.filter((_, i) => keep[i]);
  }

  #scheduleFlush(): void {
    if (this.#flushTimer || this.#closed) return;
    this.#flushTimer = this.#clock.setTimer(() => {
      this.#flushTimer = undefined;
      this.#write().catch((error: unknown) =>
        this.#log.warn({ error: (error as Error).message }, 'could not save when clients were last used'),
      );
    }, this.#delayMs);
  }

  /** Writes the newest state after any write already queued; writes never interleave. */
  #write(): Promise<void> {
    const run = this.#queue.then(async () => {
      const records: ClientRecord[] = this.#entries.map((e, i) => ({
        name: e.name,
        accounts: [...e.accounts],
        secretHash: this.#hex[i]!,
        createdAt: e.createdAt,
        ...(e.lastUsedAt === undefined ? {} : { lastUsedAt: e.lastUsedAt }),
      }));
      const json = `${JSON.stringify(v.parse(clientsFileSchema, { version: 1, clients: records }), null, 2)}\n`;
      await ensurePrivateDir(this.#dataDir);
      await writeFileAtomic(this.path, json, { mode: 0o600, fsync: true });
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the client registry is closed');
  }
}

function publicView(entry: Entry): Client {
  return {
    name: entry.name,
    accounts: entry.accounts,
    createdAt: entry.createdAt,
    lastUsedAt: entry.lastUsedAt,
  };
}

/** `["*"]` alone, or distinct account names in the broker's account-name syntax. */
function normalizeScope(accounts: readonly string[]): string[] {
  if (!Array.isArray(accounts) || accounts.length === 0)
    throw new InvalidClientError('A client needs at least one account (or "*" for all accounts).');
  if (accounts.includes(ALL_ACCOUNTS)) {
    if (accounts.some((a) => a !== ALL_ACCOUNTS))
      throw new InvalidClientError('"*" (all accounts) cannot be combined with account names.');
    return [ALL_ACCOUNTS];
  }
  for (const account of accounts)
    if (typeof account !== 'string' || !NAME.test(account))
      throw new InvalidClientError(`"${String(account).slice(0, 80)}" is not a valid account name.`);
  return [...new Set(accounts)];
}

function firstIssue(issues: readonly Issue[]): string {
  const issue = issues[0];
  if (!issue) return 'unexpected content';
  const where = issuePath(issue);
  return where ? `${where}: ${issueMessage(issue)}` : issueMessage(issue);
}
