import { ServiceError } from './service-error.js';

/** `clients.json` cannot be used. The file is left untouched; nothing is reset silently. */
export class ClientRegistryCorruptError extends ServiceError {
  readonly code = 'clients_corrupt';
  readonly path: string;
  /** What is wrong, e.g. `clients.0.secretHash: expected a SHA-256 hex digest`. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(
      `The client list ${path} cannot be used (${reason}); it was left as it is. ` +
        `Fix it, or move it away and create the clients again (their secrets cannot be recovered).`,
    );
    this.path = path;
    this.reason = reason;
  }
}
