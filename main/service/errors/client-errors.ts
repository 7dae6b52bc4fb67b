import { ServiceError } from './service-error.js';

/** A client with that name already exists (names are unique; revoke it first to replace it). */
export class ClientExistsError extends ServiceError {
  readonly code = 'client_exists';
  readonly client: string;
  constructor(client: string) {
    super(
      `A client named "${client}" already exists. Revoke it first (pikpak-token-broker clients revoke ${client}) or pick another name.`,
    );
    this.client = client;
  }
}

export class ClientNotFoundError extends ServiceError {
  readonly code = 'client_not_found';
  readonly client: string;
  constructor(client: string) {
    super(`No client named "${client}". List them with: pikpak-token-broker clients list`);
    this.client = client;
  }
}

/** A client name or account scope that cannot be stored. */
export class InvalidClientError extends ServiceError {
  readonly code = 'invalid_client';
  constructor(message: string) {
    super(message);
  }
}
