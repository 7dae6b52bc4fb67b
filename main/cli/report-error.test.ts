import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IdentityExistsError,
  KeychainUnavailableError,
  SecretsFileCorruptError,
  SecretStoreIdentityError,
  SecretStoreMismatchError,
} from '../core/errors/index.js';
import { EXIT } from './exit-codes.js';
import { exitCodeFor, messageFor } from './report-error.js';

test('the secret-store errors map to their documented exit codes', () => {
  assert.equal(
    exitCodeFor(new SecretStoreIdentityError('mismatch', '/k/id', '/d/secrets.age')),
    EXIT.keychainUnavailable,
  );
  assert.equal(exitCodeFor(new SecretStoreIdentityError('missing', undefined, 'none')), 7);
  assert.equal(
    exitCodeFor(new SecretsFileCorruptError('/d/secrets.age', '/d/secrets.age.corrupt-1', 'bad')),
    EXIT.settingsCorrupt,
  );
  assert.equal(exitCodeFor(new SecretStoreMismatchError('wrong store')), EXIT.usage);
  assert.equal(exitCodeFor(new IdentityExistsError('/k/id')), EXIT.usage);
});

test('an unavailable keychain is reported with the way to the file store', () => {
  const message = messageFor(new KeychainUnavailableError('no-session'));
  assert.match(message, /^No Secret Service on D-Bus/);
  assert.match(
    message,
    /secret-store init --identity-file PATH, then run every command with --secret-store file/,
  );
  assert.doesNotMatch(
    messageFor(new SecretStoreIdentityError('missing', undefined, 'x')),
    /No keychain on this machine/,
  );
});
