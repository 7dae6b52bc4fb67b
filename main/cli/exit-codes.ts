/**
 * Exit codes are part of the CLI's contract (scripts and service managers act on them);
 * the README lists them. Never renumber.
 */
export const EXIT = {
  ok: 0,
  /** An unexpected failure (a bug, or an error without a more specific code). */
  failure: 1,
  /** Bad flags or input: unknown command or account, missing --username, malformed value. */
  usage: 2,
  /** The account needs a new sign-in (refresh token rejected, or none stored). */
  reauthRequired: 3,
  /** The command needs the broker daemon and none is running. */
  brokerNotRunning: 4,
  /** PikPak refused: wrong password, or a captcha challenge a human must solve. */
  pikpakRejected: 5,
  /** PikPak (or the network) is unavailable right now; trying again later may work. */
  upstreamUnavailable: 6,
  /** The secret store cannot be used: the OS keychain is missing or locked, or the file store's identity is missing or wrong. */
  keychainUnavailable: 7,
  /** The settings file or secrets.age is corrupt (a backup was kept; nothing was reset). */
  settingsCorrupt: 8,
  /** Another broker process holds the data directory's lock. */
  lockHeld: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one clear line and an exit code (no stack trace). */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
