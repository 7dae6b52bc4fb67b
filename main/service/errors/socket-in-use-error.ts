import { ServiceError } from './service-error.js';

/**
 * The socket path is taken: a live process answers on it (`live-broker` when it answered our
 * health call like a broker, `live-other` when something else accepted the connection), or the
 * path holds something that is not a socket (`not-a-socket`), which we never delete.
 */
export class SocketInUseError extends ServiceError {
  readonly code = 'socket_in_use';
  readonly socketPath: string;
  readonly problem: 'live-broker' | 'live-other' | 'not-a-socket';

  constructor(socketPath: string, problem: 'live-broker' | 'live-other' | 'not-a-socket') {
    super(describe(socketPath, problem));
    this.socketPath = socketPath;
    this.problem = problem;
  }
}

function describe(path: string, problem: 'live-broker' | 'live-other' | 'not-a-socket'): string {
  switch (problem) {
    case 'live-broker':
      return (
        `Another broker already answers on ${path}. Only one token service may run per socket: ` +
        `use that one (pikpak-token-broker status), stop it first, or pick another path with --socket.`
      );
    case 'live-other':
      return `Another program already listens on ${path}. Stop it or pick another path with --socket.`;
    case 'not-a-socket':
      return `${path} exists and is not a socket; refusing to replace it. Move it away or pick another path with --socket.`;
  }
}
