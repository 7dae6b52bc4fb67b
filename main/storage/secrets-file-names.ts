/**
 * Names of the file secret store, apart from its code: the daemon and `status` check for
 * secrets.age and describe the store without loading the age code (~15 MB, ~0.1 s).
 */
export const SECRETS_FILE = 'secrets.age';
export const FILE_STORE_DESCRIPTION_PREFIX = 'age-encrypted file';
