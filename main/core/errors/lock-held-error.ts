import { BrokerError } from './broker-error.js';

/** Who holds the instance lock: the content of `broker.lock`. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** Unix milliseconds. */
  startedAt: number;
  /** What the holder runs, e.g. `daemon` or `tray`. */
  command: string;
}

/**
 * Another live broker holds the "one refresher per machine" lock. `holder` is undefined when the
 * lock file was found half-written (its owner is starting right now).
 */
export class LockHeldError extends BrokerError {
  readonly code = 'lock_held';
  readonly lockPath: string;
  readonly holder: LockHolder | undefined;

  constructor(lockPath: string, holder: LockHolder | undefined, options: { localHostname?: string } = {}) {
    super(describe(lockPath, holder, options.localHostname));
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

function describe(
  lockPath: string,
  holder: LockHolder | undefined,
  localHostname: string | undefined,
): string {
  if (!holder) {
    return `Another broker is starting and holds ${lockPath}; only one process may refresh tokens. Try again in a moment.`;
  }
  const since = Number.isFinite(holder.startedAt)
    ? new Date(holder.startedAt).toISOString()
    : 'an unknown time';
  const who = `pid ${holder.pid} on ${holder.hostname} (${holder.command || 'unknown command'}, since ${since})`;
  if (localHostname !== undefined && holder.hostname !== localHostname) {
    return (
      `Another broker holds ${lockPath}: ${who}. The data folder is shared with another machine; ` +
      `only one process may refresh tokens. If no broker runs there any more, delete the lock file.`
    );
  }
  return (
    `Another broker holds ${lockPath}: ${who}. Only one process may refresh tokens: ` +
    `stop it first (or use it through its token service).`
  );
}
