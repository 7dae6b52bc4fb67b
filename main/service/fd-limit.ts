/**
 * The process's open-file limit, so the connection bounds can be made to fit it. Node raises its
 * soft limit to the hard one at start-up, so the soft value read here is what the process really
 * has. Linux only (from /proc); elsewhere unknown.
 */
import { readFileSync } from 'node:fs';

export function openFileLimit(
  read: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const line = read()
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === 'unlimited') return undefined;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** File descriptors kept back for everything that is not a service connection (keychain, files, bridge, logs). */
export const RESERVED_FDS = 256;

/**
 * The per-listener bound that fits `limit`: `wanted` when it fits, else what is left after
 * RESERVED_FDS shared by the listeners (never below 16).
 */
export function fitConnections(wanted: number, listeners: number, limit: number | undefined): number {
  if (limit === undefined) return wanted;
  const fits = Math.floor((limit - RESERVED_FDS) / listeners);
  return Math.min(wanted, Math.max(16, fits));
}
