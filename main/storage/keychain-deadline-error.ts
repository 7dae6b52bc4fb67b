import type { KeyringOperation } from './keyring-host-protocol.js';

/**
 * A keychain call had no answer within its deadline (internal to main/storage: mapKeyringError
 * turns it into KeychainUnavailableError `locked`, since an unlock prompt may be waiting).
 */
export class KeychainDeadlineError extends Error {
  override readonly name = 'KeychainDeadlineError';
  readonly operation: KeyringOperation | undefined;
  readonly timeoutMs: number;

  constructor(operation: KeyringOperation | undefined, timeoutMs: number) {
    super(`${operation ?? 'keychain call'} timed out after ${timeoutMs} ms`);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}
