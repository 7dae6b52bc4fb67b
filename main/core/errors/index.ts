export { BrokerError } from './broker-error.js';
export { errorMessage, errnoCode, asError } from './error-message.js';
export {
  KeychainUnavailableError,
  KEYCHAIN_UNAVAILABLE_REASONS,
  type KeychainUnavailableReason,
} from './keychain-unavailable-error.js';
export { CorruptFileError } from './corrupt-file-error.js';
export { SettingsCorruptError } from './settings-corrupt-error.js';
export { LockHeldError, type LockHolder } from './lock-held-error.js';
export { InsecureDirectoryError } from './insecure-directory-error.js';
export { SecretStoreIdentityError, type SecretStoreIdentityProblem } from './secret-store-identity-error.js';
export { SecretsFileCorruptError } from './secrets-file-corrupt-error.js';
export { SecretStoreMismatchError } from './secret-store-mismatch-error.js';
export { IdentityExistsError } from './identity-exists-error.js';
