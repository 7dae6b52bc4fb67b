/**
 * The owner's admin credential: `admin.token` in the data folder (0600 in a 0700 folder), created
 * by the service at start when missing. The CLI, running as the same OS user, reads the file and
 * sends it as its bearer; nobody else can read it. The service keeps only its SHA-256.
 *
 * A token file that others could read (group/world bits set) is treated as leaked: it is replaced
 * by a new token and a warning is logged.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { ensurePrivateDir } from '../storage/paths.js';
import { ADMIN_SECRET_PREFIX, digestOf, generateSecret, sameDigest } from './bearer.js';
import { AdminCredentialError } from './errors/index.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
const FORMAT = /^pkb_admin_[A-Za-z0-9_-]{43}$/;

export interface AdminCredentialOptions {
  readonly dataDir: string;
  readonly log?: Logger;
}

export class AdminCredential {
  readonly path: string;
  readonly #digest: Buffer;

  private constructor(path: string, token: Secret) {
    this.path = path;
    this.#digest = digestOf(token.reveal());
  }

  /** The service's side: loads `admin.token`, creating (or replacing a leaked) one as needed. */
  static async loadOrCreate(options: AdminCredentialOptions): Promise<AdminCredential> {
    const log = options.log ?? silentLogger;
    await ensurePrivateDir(options.dataDir);
    const path = join(options.dataDir, ADMIN_TOKEN_FILE);
    const existing = await readToken(path, { allowMissing: true, allowShared: true });
    if (existing && !existing.shared) return new AdminCredential(path, existing.token);
    if (existing?.shared)
      log.warn({ path }, 'the admin credential was readable by other users; replacing it with a new one');
    const token = generateSecret(ADMIN_SECRET_PREFIX);
    // Loaded here: CLI clients only read the credential and should not pay for the writer.
    const { default: writeFileAtomic } = await import('write-file-atomic');
    await writeFileAtomic(path, `${token.reveal()}\n`, { mode: 0o600, fsync: true });
    if (!existing) log.info({ path }, 'created the admin credential');
    return new AdminCredential(path, token);
  }

  /**
   * The CLI's side: the admin token to send as `Authorization: Bearer …`. Throws
   * AdminCredentialError when it is missing or malformed, and refuses a file others can read.
   */
  static async read(dataDir: string): Promise<Secret> {
    const path = join(dataDir, ADMIN_TOKEN_FILE);
    const found = await readToken(path, { allowMissing: false, allowShared: false });
    return found!.token;
  }

  /** Whether `bearer` is the admin token (constant time). */
  matches(bearer: string | Secret): boolean {
    return this.matchesDigest(digestOf(typeof bearer === 'string' ? bearer : bearer.reveal()));
  }

  matchesDigest(digest: Buffer): boolean {
    return sameDigest(this.#digest, digest);
  }
}

async function readToken(
  path: string,
  options: { allowMissing: boolean; allowShared: boolean },
): Promise<{ token: Secret; shared: boolean } | undefined> {
  let raw: string;
  let mode: number;
  try {
    raw = await readFile(path, 'utf8');
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (options.allowMissing) return undefined;
    throw new AdminCredentialError(path, 'missing');
  }
  const value = raw.trim();
  if (!FORMAT.test(value)) throw new AdminCredentialError(path, 'malformed');
  const shared = process.platform !== 'win32' && (mode & 0o077) !== 0;
  if (shared && !options.allowShared) throw new AdminCredentialError(path, 'shared');
  return { token: new Secret(value), shared };
}
