/**
 * Start at login cannot be registered for this copy of the app: on macOS a login item names an
 * app bundle and takes no arguments, so from a checkout (`npm start`) it would start bare
 * Electron instead of this app.
 */
export class StartAtLoginUnavailableError extends Error {
  readonly code = 'START_AT_LOGIN_UNAVAILABLE';

  constructor() {
    super(
      'Start at login needs the installed app on macOS; started from a checkout, the login item ' +
        'would open Electron without this app.',
    );
    this.name = new.target.name;
  }
}
