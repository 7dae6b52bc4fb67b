/**
 * The file secret store's identity: an age X25519 private key in a file of the `age-keygen`
 * format (comment lines, then `AGE-SECRET-KEY-1…`), so the `age` CLI opens `secrets.age` with the
 * same file. It comes from `--identity-file` or, under systemd, `$CREDENTIALS_DIRECTORY/identity`.
 *
 * A file the user names must be private: a regular file no one else can read (0600 or 0400), in
 * a folder no one else can change (checked like the socket's folder). systemd's credentials folder
 * is trusted as systemd made it (a private, read-only mount; the file may be root-owned with an
 * ACL for the service's user, which a mode check would misread).
 */
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { IdentityExistsError, SecretStoreIdentityError } from '../core/errors/index.js';
import { Secret } from '../core/secret.js';

export interface AgeIdentity {
  readonly path: string;
  /** The `AGE-SECRET-KEY-1…` line. */
  readonly key: Secret;
  /** The public recipient, `age1…`: what `secrets.age` is encrypted to. */
  readonly recipient: string;
}

export interface IdentityLocation {
  readonly path: string;
  readonly source: 'flag' | 'systemd';
}

/** `--identity-file` wins; else systemd's credential named `identity`; else none. */
export function locateIdentity(
  identityFile: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): IdentityLocation | undefined {
  if (identityFile) return { path: resolve(identityFile), source: 'flag' };
  const credentials = env.CREDENTIALS_DIRECTORY;
  if (credentials && isAbsolute(credentials))
    return { path: join(credentials, 'identity'), source: 'systemd' };
  return undefined;
}

export async function loadIdentity(location: IdentityLocation | undefined): Promise<AgeIdentity> {
  if (!location) throw new SecretStoreIdentityError('missing', undefined, 'no identity');
  const { path } = location;
  if (location.source === 'flag') await checkPrivateFile(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretStoreIdentityError(code === 'ENOENT' ? 'missing' : 'unreadable', path, code, {
      cause: error,
    });
  }
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (!line) throw new SecretStoreIdentityError('invalid', path, 'no AGE-SECRET-KEY-1 line');
  let recipient: string;
  try {
    recipient = await identityToRecipient(line);
  } catch {
    // The library's message could quote the key: say only that it is malformed.
    throw new SecretStoreIdentityError('invalid', path, 'the AGE-SECRET-KEY-1 line is malformed');
  }
  return { path, key: new Secret(line), recipient };
}

/**
 * Creates a new identity at `path` (never overwriting one) in `age-keygen`'s format and returns
 * it. The folder is created 0700 if missing, else must be the user's and not writable by others.
 */
export async function createIdentityFile(path: string, now: () => number = Date.now): Promise<AgeIdentity> {
  const absolute = resolve(path);
  await preparePrivateFolder(dirname(absolute), { create: true });
  const key = await generateX25519Identity();
  const recipient = await identityToRecipient(key);
  const text =
    `# created: ${new Date(now()).toISOString()}\n` +
    `# public key: ${recipient}\n` +
    `# pikpak-token-broker secret-store identity: keep it private and back it up; without it secrets.age cannot be opened\n` +
    `${key}\n`;
  let handle;
  try {
    handle = await open(absolute, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new IdentityExistsError(absolute);
    throw error;
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { path: absolute, key: new Secret(key), recipient };
}

async function checkPrivateFile(path: string): Promise<void> {
  await preparePrivateFolder(dirname(path), { create: false, identityPath: path });
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new SecretStoreIdentityError(
      error.code === 'ENOENT' ? 'missing' : 'unreadable',
      path,
      error.code ?? 'error',
      {
        cause: error,
      },
    );
  });
  if (process.platform === 'win32') return;
  if (!info.isFile()) throw new SecretStoreIdentityError('invalid', path, 'not a regular file');
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0)
    throw new SecretStoreIdentityError('insecure', path, `it belongs to uid ${info.uid}, not to this user`);
  const mode = info.mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new SecretStoreIdentityError(
      'insecure',
      path,
      `mode ${mode.toString(8).padStart(4, '0')} lets other users read it; run: chmod 600 ${path}`,
    );
}

/**
 * Like the socket's folder: missing → created 0700 (when `create`); present → must be a folder,
 * the user's (or root's), and not writable by group or others (who could swap the identity).
 */
async function preparePrivateFolder(
  dir: string,
  options: { create: boolean; identityPath?: string },
): Promise<void> {
  const fail = (detail: string): never => {
    throw new SecretStoreIdentityError('insecure', options.identityPath ?? dir, detail);
  };
  let info = await stat(dir).catch(() => undefined);
  if (!info) {
    if (!options.create)
      throw new SecretStoreIdentityError(
        'missing',
        options.identityPath ?? dir,
        `its folder ${dir} does not exist`,
      );
    await mkdir(dir, { recursive: true, mode: 0o700 });
    info = await stat(dir);
  }
  if (process.platform === 'win32') return;
  if (!info.isDirectory()) fail(`${dir} is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0)
    fail(`its folder ${dir} belongs to uid ${info.uid}, not to this user`);
  if ((info.mode & 0o022) !== 0)
    fail(
      `its folder ${dir} can be changed by other users, who could replace the identity; use a private folder (chmod 700)`,
    );
}
