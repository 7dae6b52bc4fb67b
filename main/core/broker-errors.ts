/** Errors of the broker's account management; messages say what to do. */
import { BrokerError } from './errors/broker-error.js';

export abstract class AccountError extends BrokerError {}

export class AccountNotFoundError extends AccountError {
  readonly code = 'account_not_found';
  readonly account: string;
  constructor(account: string, known: readonly string[]) {
    super(
      `No account named "${account}". ${
        known.length ? `Known accounts: ${known.join(', ')}.` : 'No account is set up yet.'
      } Add one with: pikpak-token-broker login --account ${account} --username …`,
    );
    this.account = account;
  }
}

export class InvalidAccountNameError extends AccountError {
  readonly code = 'invalid_account_name';
  constructor(account: string) {
    super(
      `"${account}" is not a valid account name: use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}

export class AccountConflictError extends AccountError {
  readonly code = 'account_conflict';
  constructor(account: string, username: string) {
    super(
      `Account "${account}" belongs to PikPak user ${username}. Log it out first (pikpak-token-broker logout --account ${account}) or pick another account name.`,
    );
  }
}
