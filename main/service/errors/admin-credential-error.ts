import { ServiceError } from './service-error.js';

const MESSAGES = {
  missing: (path: string) =>
    `No admin credential at ${path}: start the broker (daemon or tray app) once with this data folder; it creates one.`,
  malformed: (path: string) =>
    `The admin credential ${path} is not in the expected format; it was left as it is. Delete it and restart the broker to create a new one.`,
  shared: (path: string) =>
    `The admin credential ${path} is readable by other users, so it may have leaked. Restart the broker: it replaces it with a new one.`,
};

/**
 * The admin credential cannot be read: missing (no service has started with this data folder
 * yet), malformed, or not private to this user.
 */
export class AdminCredentialError extends ServiceError {
  readonly code = 'admin_credential';
  readonly path: string;
  readonly problem: 'missing' | 'malformed' | 'shared';

  constructor(path: string, problem: 'missing' | 'malformed' | 'shared') {
    super(MESSAGES[problem](path));
    this.path = path;
    this.problem = problem;
  }
}
