import { BrokerError } from './broker-error.js';

/**
 * The secret store chosen with --secret-store is not the one holding the accounts' secrets (the
 * other store does, or a `secret-store migrate` is unfinished). Refused before anything starts,
 * so that a wrong flag never turns into "re-login needed" for accounts whose tokens are safe in
 * the other store. The CLI exits 2: the flag is wrong, nothing was changed.
 */
export class SecretStoreMismatchError extends BrokerError {
  readonly code = 'secret_store_mismatch';
}
