/**
 * Replaces a file so that after a crash or power loss it holds either the old or the new bytes,
 * never a mix and never nothing: write a temp file in the same folder (0600, exclusive), fsync
 * it, rename it over the target, fsync the folder (so the rename itself is on disk).
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from './instance-lock.js';

const TEMP_MARK = '.tmp-';

export async function writeFileDurably(path: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const temp = `${path}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** fsync on a folder persists its entries (the rename). Windows cannot open folders: skipped. */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temp files that killed writers left next to `path` (never renamed, so the target does
 * not depend on them). A live process's temp file is its write in progress: left alone.
 */
export async function removeStaleTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}${TEMP_MARK}`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    if (!name.startsWith(prefix)) return false;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    return pid !== process.pid && !isProcessAlive(pid);
  });
  await Promise.all(stale.map((name) => unlink(join(dirname(path), name)).catch(() => undefined)));
}
