import type { KeyringOperation } from './keyring-host-protocol.js';

/**
 * A keychain call refused at once because an earlier one is stuck (internal to main/storage:
 * mapKeyringError turns it into KeychainUnavailableError `failed`). Failing fast instead of
 * queueing behind a hung Secret Service keeps waits bounded; the vault retries later.
 */
export class KeychainStalledError extends Error {
  override readonly name = 'KeychainStalledError';

  /** `waitedMs` undefined: several stuck calls have not come back at all. */
  constructor(stuckOperation: KeyringOperation | undefined, waitedMs: number | undefined) {
    super(
      waitedMs === undefined
        ? 'the keychain has not answered earlier calls at all'
        : `the keychain has not answered an earlier ${stuckOperation ?? ''} call for ${(waitedMs / 1000).toFixed(1)} s`.replace(
            '  ',
            ' ',
          ),
    );
  }
}
