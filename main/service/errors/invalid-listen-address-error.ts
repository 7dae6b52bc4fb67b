import { ServiceError } from './service-error.js';

/**
 * `--listen` is not `host:port`, or names an address other than loopback. The service never
 * listens where another machine (or a browser's DNS-rebound page) could reach it.
 */
export class InvalidListenAddressError extends ServiceError {
  readonly code = 'invalid_listen_address';
  readonly address: string;
  readonly problem: 'syntax' | 'port' | 'not-loopback';

  constructor(address: string, problem: 'syntax' | 'port' | 'not-loopback') {
    super(describe(address, problem));
    this.address = address;
    this.problem = problem;
  }
}

function describe(address: string, problem: 'syntax' | 'port' | 'not-loopback'): string {
  const shown = JSON.stringify(address.slice(0, 100));
  switch (problem) {
    case 'syntax':
      return `--listen ${shown} is not an address: use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT.`;
    case 'port':
      return `--listen ${shown} has no valid port: use a number from 0 to 65535 (0 picks a free one).`;
    case 'not-loopback':
      return (
        `--listen ${shown} refused: the token service hands out access tokens, so it listens on loopback only ` +
        `(127.0.0.0/8, ::1 or localhost), never where another machine can reach it. Use 127.0.0.1:PORT.`
      );
  }
}
