/**
 * Base of the errors the core and its storage adapters throw (the PikPak provider has its own
 * base, `PikPakError`). `code` is stable and machine-readable (logs, the service's JSON errors,
 * the CLI's exit paths); `message` is for humans and says what to do. Messages never contain
 * secrets: they are built from paths, process ids and reasons, never from stored values.
 */
export abstract class BrokerError extends Error {
  abstract readonly code: string;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}
