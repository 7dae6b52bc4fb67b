import { BrokerError } from './broker-error.js';

/**
 * Why the file secret store's identity (its age private key) cannot be used:
 * - `missing`: no identity was given (neither --identity-file nor $CREDENTIALS_DIRECTORY/identity),
 *   or the named file does not exist;
 * - `unreadable`: the file exists but cannot be read;
 * - `invalid`: the file holds no usable `AGE-SECRET-KEY-1…` line;
 * - `insecure`: the file or its folder can be read or changed by other users;
 * - `mismatch`: the identity does not open `secrets.age` (it was encrypted to another key).
 */
export type SecretStoreIdentityProblem = 'missing' | 'unreadable' | 'invalid' | 'insecure' | 'mismatch';

const SETUP =
  'create an identity with: pikpak-token-broker secret-store init --identity-file PATH, then pass ' +
  '--identity-file PATH (env PIKPAK_BROKER_IDENTITY_FILE) or, under systemd, LoadCredential=identity:PATH';

/**
 * The file secret store cannot open its identity. Thrown before anything is read or written:
 * `secrets.age` is left exactly as it is. The CLI exits 7, like an unavailable keychain.
 */
export class SecretStoreIdentityError extends BrokerError {
  readonly code = 'secret_store_identity';
  readonly problem: SecretStoreIdentityProblem;
  /** The identity file, when one was named. */
  readonly identityPath: string | undefined;

  constructor(
    problem: SecretStoreIdentityProblem,
    identityPath: string | undefined,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(describe(problem, identityPath, detail), options);
    this.problem = problem;
    this.identityPath = identityPath;
  }
}

function describe(problem: SecretStoreIdentityProblem, path: string | undefined, detail: string): string {
  const file = path ?? '(none given)';
  switch (problem) {
    case 'missing':
      return path
        ? `The identity file ${file} does not exist (${detail}); ${SETUP}.`
        : `--secret-store file needs an identity and none was given; ${SETUP}.`;
    case 'unreadable':
      return `The identity file ${file} cannot be read (${detail}); check its owner and permissions.`;
    case 'invalid':
      return `The identity file ${file} is not an age X25519 identity (${detail}); ${SETUP}.`;
    case 'insecure':
      return `The identity file ${file} is not private (${detail}); refusing to use it.`;
    case 'mismatch':
      return (
        `The identity file ${file} does not open ${detail}: it was encrypted to another identity. ` +
        'Pass the identity it was created with; the file was left untouched.'
      );
  }
}
