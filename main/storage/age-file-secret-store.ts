/**
 * `SecretStore` in one age-encrypted file, `secrets.age` in the data folder, for machines with no
 * keychain (a NAS, a server, a container). Every secret the broker keeps (refresh tokens, stored
 * passwords, the bridge CA key) is in it, encrypted to the identity's X25519 recipient with the
 * `age-encryption` package; `age -d -i IDENTITY secrets.age` shows the same document.
 *
 * The plaintext is a small versioned JSON document:
 *   {"format":"pikpak-token-broker/secrets","version":1,"secrets":{"<account>":{"refresh-token":"…"}}}
 *
 * - Reads decrypt the file again whenever it changed on disk (another broker process may have
 *   written it), else answer from the copy of the last read.
 * - Writes are atomic and durable (writeFileDurably: temp file, fsync, rename, fsync the folder),
 *   one at a time; changes that arrive while a write runs are coalesced into the next one. Each
 *   `set`/`delete` resolves only once a write holding it is on disk.
 * - The file is only ever rewritten after it was decrypted with this identity: a wrong identity
 *   (SecretStoreIdentityError) or a damaged file (SecretsFileCorruptError, a copy kept once) leaves
 *   it exactly as it is.
 */
import { Decrypter, Encrypter } from 'age-encryption';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { issuePath } from '../validation/issues.js';
import { SecretsFileCorruptError, SecretStoreIdentityError } from '../core/errors/index.js';
import type { SecretKind, SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import type { AgeIdentity } from './age-identity.js';
import { removeStaleTempFiles, writeFileDurably } from './durable-write.js';
import { ensurePrivateDir } from './paths.js';
import { FILE_STORE_DESCRIPTION_PREFIX, SECRETS_FILE } from './secrets-file-names.js';

export { FILE_STORE_DESCRIPTION_PREFIX, SECRETS_FILE };

export const SECRETS_FORMAT = 'pikpak-token-broker/secrets';
export const SECRETS_VERSION = 1;

const SECRET_KINDS = ['refresh-token', 'password', 'bridge-ca-key'] as const satisfies readonly SecretKind[];
const value = v.pipe(v.string(), v.minLength(1));
const documentSchema = v.strictObject({
  format: v.literal(SECRETS_FORMAT),
  version: v.literal(SECRETS_VERSION),
  secrets: v.record(
    v.pipe(v.string(), v.minLength(1)),
    v.strictObject({
      'refresh-token': v.optional(value),
      password: v.optional(value),
      'bridge-ca-key': v.optional(value),
    }),
  ),
});

type Entries = Map<string, Map<SecretKind, Secret>>;

interface Snapshot {
  readonly entries: Entries;
  /** Identifies the file version read (undefined: there was no file). */
  readonly stamp: string | undefined;
}

interface QueuedChange {
  readonly apply: (entries: Entries) => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface AgeFileSecretStoreOptions {
  readonly dataDir: string;
  readonly identity: AgeIdentity;
  /** Replaces the file durably; tests count or fail writes. Default: writeFileDurably. */
  readonly writeFile?: (path: string, data: Uint8Array) => Promise<void>;
}

export class AgeFileSecretStore implements SecretStore {
  readonly description: string;
  readonly path: string;
  readonly #identity: AgeIdentity;
  readonly #dataDir: string;
  readonly #writeFile: (path: string, data: Uint8Array) => Promise<void>;
  #snapshot: Snapshot | undefined;
  #queue: QueuedChange[] = [];
  #writing: Promise<void> | undefined;

  private constructor(options: AgeFileSecretStoreOptions) {
    this.path = join(options.dataDir, SECRETS_FILE);
    this.#identity = options.identity;
    this.#dataDir = options.dataDir;
    this.#writeFile = options.writeFile ?? ((path, data) => writeFileDurably(path, data, 0o600));
    this.description = `${FILE_STORE_DESCRIPTION_PREFIX} ${this.path} (identity ${options.identity.path})`;
  }

  /**
   * Opens the store and reads the file once, so a wrong identity or a damaged file is reported
   * before anything starts (and before anything could be written).
   */
  static async open(options: AgeFileSecretStoreOptions): Promise<AgeFileSecretStore> {
    const store = new AgeFileSecretStore(options);
    await removeStaleTempFiles(store.path);
    await store.#current();
    return store;
  }

  get recipient(): string {
    return this.#identity.recipient;
  }

  async get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    if (!account) throw new TypeError('account must not be empty');
    return (await this.#current()).entries.get(account)?.get(kind);
  }

  set(account: string, kind: SecretKind, secret: Secret): Promise<void> {
    if (!account) return Promise.reject(new TypeError('account must not be empty'));
    if (!(secret instanceof Secret))
      return Promise.reject(new TypeError('AgeFileSecretStore.set expects a Secret'));
    if (secret.isEmpty) return Promise.reject(new TypeError(`Refusing to store an empty ${kind}`));
    return this.#enqueue((entries) => {
      const kinds = entries.get(account) ?? new Map<SecretKind, Secret>();
      kinds.set(kind, secret);
      entries.set(account, kinds);
    });
  }

  delete(account: string, kind: SecretKind): Promise<void> {
    if (!account) return Promise.reject(new TypeError('account must not be empty'));
    return this.#enqueue((entries) => {
      const kinds = entries.get(account);
      kinds?.delete(kind);
      if (kinds?.size === 0) entries.delete(account);
    });
  }

  /** Every (account, kind) the file holds, e.g. for `secret-store migrate`. Never the values. */
  async list(): Promise<{ account: string; kind: SecretKind }[]> {
    const { entries } = await this.#current();
    return [...entries].flatMap(([account, kinds]) => [...kinds.keys()].map((kind) => ({ account, kind })));
  }

  /** Resolves once every change queued so far is on disk (or has failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #enqueue(apply: (entries: Entries) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ apply, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#writing || this.#queue.length === 0) return;
    this.#writing = this.#writeQueued().finally(() => {
      this.#writing = undefined;
      this.#kick();
    });
  }

  /** One write for everything queued so far; each caller learns whether it reached the disk. */
  async #writeQueued(): Promise<void> {
    const batch = this.#queue.splice(0);
    try {
      const current = await this.#current();
      const next = copyEntries(current.entries);
      for (const change of batch) change.apply(next);
      if (!sameEntries(current.entries, next)) {
        await ensurePrivateDir(this.#dataDir);
        await this.#writeFile(this.path, await this.#encrypt(next));
        this.#snapshot = { entries: next, stamp: await this.#stamp() };
      }
      for (const change of batch) change.resolve();
    } catch (error) {
      for (const change of batch) change.reject(error);
    }
  }

  /** The file's entries, decrypted again only when the file changed since the last read. */
  async #current(): Promise<Snapshot> {
    const stamp = await this.#stamp();
    if (this.#snapshot && this.#snapshot.stamp === stamp) return this.#snapshot;
    if (stamp === undefined) return (this.#snapshot = { entries: new Map(), stamp });
    const raw = await readFile(this.path);
    this.#snapshot = { entries: await this.#decrypt(raw), stamp };
    return this.#snapshot;
  }

  async #stamp(): Promise<string | undefined> {
    try {
      const info = await stat(this.path, { bigint: true });
      return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async #encrypt(entries: Entries): Promise<Uint8Array> {
    const secrets: Record<string, Partial<Record<SecretKind, string>>> = {};
    for (const [account, kinds] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
      const out: Partial<Record<SecretKind, string>> = {};
      for (const kind of SECRET_KINDS) {
        const secret = kinds.get(kind);
        if (secret) out[kind] = secret.reveal();
      }
      secrets[account] = out;
    }
    const encrypter = new Encrypter();
    encrypter.addRecipient(this.#identity.recipient);
    return encrypter.encrypt(JSON.stringify({ format: SECRETS_FORMAT, version: SECRETS_VERSION, secrets }));
  }

  async #decrypt(raw: Buffer): Promise<Entries> {
    const decrypter = new Decrypter();
    decrypter.addIdentity(this.#identity.key.reveal());
    let text: string;
    try {
      text = await decrypter.decrypt(new Uint8Array(raw), 'text');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // age cannot tell "another key" from a damaged key stanza; either way nothing is touched.
      if (/no identity matched/i.test(message))
        throw new SecretStoreIdentityError('mismatch', this.#identity.path, this.path, { cause: error });
      throw await this.#corrupt(raw, `not a readable age file: ${message}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw await this.#corrupt(raw, 'the decrypted content is not JSON');
    }
    const parsed = v.safeParse(documentSchema, data);
    if (!parsed.success) {
      // Name the place, never the value (it may be a secret).
      const where = issuePath(parsed.issues[0]) || '(root)';
      throw await this.#corrupt(raw, `unexpected content at ${where}`);
    }
    const entries: Entries = new Map();
    for (const [account, kinds] of Object.entries(parsed.output.secrets)) {
      const map = new Map<SecretKind, Secret>();
      for (const kind of SECRET_KINDS) {
        const text = kinds[kind];
        if (text) map.set(kind, new Secret(text));
      }
      if (map.size) entries.set(account, map);
    }
    return entries;
  }

  /** Keeps one copy of these exact bytes next to the file (named by their hash) and builds the error. */
  async #corrupt(raw: Buffer, reason: string): Promise<SecretsFileCorruptError> {
    const backupPath = `${this.path}.corrupt-${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;
    try {
      await writeFile(backupPath, raw, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        return new SecretsFileCorruptError(this.path, undefined, reason, { cause: error });
    }
    return new SecretsFileCorruptError(this.path, backupPath, reason);
  }
}

function copyEntries(entries: Entries): Entries {
  return new Map([...entries].map(([account, kinds]) => [account, new Map(kinds)]));
}

function sameEntries(a: Entries, b: Entries): boolean {
  if (a.size !== b.size) return false;
  for (const [account, kinds] of a) {
    const other = b.get(account);
    if (!other || other.size !== kinds.size) return false;
    for (const [kind, secret] of kinds) if (other.get(kind) !== secret) return false;
  }
  return true;
}
