import { BrokerError } from './broker-error.js';

/** `secret-store init` was pointed at a file that already exists: an identity is never overwritten. */
export class IdentityExistsError extends BrokerError {
  readonly code = 'identity_exists';
  readonly path: string;

  constructor(path: string) {
    super(
      `${path} already exists; refusing to overwrite it (secrets.age may be encrypted to that identity). ` +
        'Choose another path, or move the file away yourself if you are sure nothing uses it.',
    );
    this.path = path;
  }
}
