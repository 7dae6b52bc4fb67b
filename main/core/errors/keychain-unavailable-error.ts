import { BrokerError } from './broker-error.js';

/**
 * Why the keychain could not be used:
 * - `no-session`: nothing to talk to (Linux: no D-Bus session bus, or no Secret Service on it);
 * - `locked`: the keychain is locked and was not unlocked (prompt dismissed, or no answer in time);
 * - `denied`: the keychain refused this program;
 * - `failed`: anything else the platform reported.
 */
export type KeychainUnavailableReason = 'no-session' | 'locked' | 'denied' | 'failed';

export const KEYCHAIN_UNAVAILABLE_REASONS: readonly KeychainUnavailableReason[] = [
  'no-session',
  'locked',
  'denied',
  'failed',
];

const IN_MEMORY = 'the broker keeps tokens in memory only until it is available';

const ADVICE: Readonly<Record<KeychainUnavailableReason, string>> = {
  'no-session': `No Secret Service on D-Bus: install/start gnome-keyring or KeePassXC; ${IN_MEMORY}`,
  locked: `The keychain is locked (or its unlock prompt was dismissed): unlock it; ${IN_MEMORY}`,
  denied: `Access to the keychain was denied: allow pikpak-token-broker in the keychain's prompt or settings; ${IN_MEMORY}`,
  failed: `The keychain failed; ${IN_MEMORY}`,
};

/**
 * The OS keychain cannot be used right now. Thrown by `SecretStore` implementations; the keeper
 * reacts by keeping the secret in memory, reporting `warn` and retrying (never a plaintext file).
 */
export class KeychainUnavailableError extends BrokerError {
  readonly code = 'keychain_unavailable';
  readonly reason: KeychainUnavailableReason;
  /** What the platform said, verbatim (it names services and entries, never secret values). */
  readonly detail: string | undefined;

  constructor(
    reason: KeychainUnavailableReason,
    options: { message?: string; detail?: string; cause?: unknown } = {},
  ) {
    const advice = options.message ?? ADVICE[reason];
    super(options.detail ? `${advice} (${options.detail})` : advice, { cause: options.cause });
    this.reason = reason;
    this.detail = options.detail;
  }

  /** The default advice for a reason, for callers that build a more specific message. */
  static advice(reason: KeychainUnavailableReason): string {
    return ADVICE[reason];
  }
}
