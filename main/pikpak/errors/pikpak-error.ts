/**
 * Base of every error the PikPak provider throws. Only the provider looks at axios errors;
 * everything above it sees these types. Messages never contain secrets: they are built from
 * PikPak's error code and description, never from request bodies.
 */
export abstract class PikPakError extends Error {
  /** A stable machine-readable code (used in logs, the service's JSON errors and the CLI). */
  abstract readonly code: string;
  /** Whether retrying the same call later may succeed without user action. */
  abstract readonly retryable: boolean;
  /** PikPak's own `error_code`, when the answer carried one. */
  readonly pikpakCode: number | undefined;
  readonly httpStatus: number | undefined;

  constructor(message: string, options: { pikpakCode?: number; httpStatus?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.pikpakCode = options.pikpakCode;
    this.httpStatus = options.httpStatus;
  }
}
