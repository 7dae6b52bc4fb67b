/**
 * Why the keeper cannot hand out an access token right now. The token service maps these to
 * HTTP statuses and the CLI to exit codes; messages are for people and never contain secrets.
 */
import { BrokerError } from './errors/broker-error.js';
import type { ReauthReason } from './keeper-state.js';

export abstract class TokenNotAvailableError extends BrokerError {}

/** The user must sign in again (see the state's message for why). */
export class ReauthRequiredError extends TokenNotAvailableError {
  readonly code = 'reauth_required';
  readonly reason: ReauthReason;
  readonly account: string;
  constructor(account: string, reason: ReauthReason, message: string) {
    super(message);
    this.account = account;
    this.reason = reason;
  }
}

/** The account has never been signed in, or was signed out. */
export class SignedOutError extends TokenNotAvailableError {
  readonly code = 'signed_out';
  readonly account: string;
  constructor(account: string) {
    super(`Account "${account}" is signed out. Sign in with: pikpak-token-broker login --account ${account}`);
    this.account = account;
  }
}

/** PikPak is unreachable or failing and the last access token has expired; retries continue. */
export class UpstreamUnavailableError extends TokenNotAvailableError {
  readonly code = 'upstream_unavailable';
  readonly retryAt: number;
  constructor(message: string, retryAt: number) {
    super(message);
    this.retryAt = retryAt;
  }
}
