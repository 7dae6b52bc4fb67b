import { ServiceError } from './service-error.js';

/** A TCP listener (`--listen`, `--bridge`) cannot bind: another program holds the port. */
export class ListenerInUseError extends ServiceError {
  readonly code = 'listener_in_use';
  readonly flag: string;
  readonly address: string;

  constructor(flag: string, address: string) {
    super(
      `${flag} ${address} is in use: another program (or another broker) listens there. Stop it, or give ${flag} another port.`,
    );
    this.flag = flag;
    this.address = address;
  }
}
