/**
 * The Unix socket (or Windows named pipe) the service listens on. Before listening: the folder
 * is made private (0700, created if missing, refused if it belongs to someone else); a process
 * that still answers on the path means another broker runs (refuse, never steal its socket); a
 * socket file nobody answers on is stale and removed; anything that is not a socket is left alone
 * and refused. After listening the socket is chmod 0600. On Windows the pipe needs none of this.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Server } from 'node:http';
import { InsecureDirectoryError } from '../core/errors/index.js';
import { APP_NAME, ensurePrivateDir } from '../storage/paths.js';
import { SocketInUseError } from './errors/index.js';

const isWindows = (): boolean => process.platform === 'win32';

/** Makes `socketPath` ready to listen on, or throws SocketInUseError / InsecureDirectoryError. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (!isWindows()) {
    await prepareSocketFolder(dirname(socketPath));
    const info = await lstat(socketPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!info) return;
    if (!info.isSocket()) throw new SocketInUseError(socketPath, 'not-a-socket');
  }
  const live = await probe(socketPath);
  if (live !== 'dead') throw new SocketInUseError(socketPath, live);
  if (!isWindows()) await unlink(socketPath).catch(() => undefined);
}

/**
 * Our own folder (missing, or named after the app) is made private (0700). A folder the user
 * chose for --socket is used as it is, never chmod'ed, but must be theirs and not writable by
 * others (who could swap the socket for their own).
 */
async function prepareSocketFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info || basename(dir) === APP_NAME) return ensurePrivateDir(dir);
  if (!info.isDirectory()) throw new InsecureDirectoryError(dir, 'not-a-directory');
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) throw new InsecureDirectoryError(dir, 'foreign-owner', info.uid);
  if ((info.mode & 0o022) !== 0) throw new InsecureDirectoryError(dir, 'writable-by-others');
}

/** Pending connections the kernel holds for us (capped by net.core.somaxconn). */
export const SOCKET_BACKLOG = 2048;

/** Listens on the prepared path and makes the socket owner-only. */
export async function listenOnSocket(server: Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new SocketInUseError(socketPath, 'live-other') : error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // A Unix socket refuses connections (EAGAIN) once its backlog is full instead of queueing
    // them; a burst of consumers (a herd after an expiry) must not be turned away.
    server.listen({ path: socketPath, backlog: SOCKET_BACKLOG });
  });
  if (!isWindows()) await chmod(socketPath, 0o600);
}

/**
 * Whether something answers on the path: `live-broker` if it answers `GET /v1/health` like a
 * broker, `live-other` if it accepts connections but is something else, `dead` otherwise.
 */
async function probe(socketPath: string): Promise<'live-broker' | 'live-other' | 'dead'> {
  const accepts = await new Promise<boolean>((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!accepts) return 'dead';
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path: '/v1/health', method: 'GET', timeout: 2000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        res.on('end', () => resolve(body.includes('"pikpak-token-broker"') ? 'live-broker' : 'live-other'));
        res.on('error', () => resolve('live-other'));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('live-other'));
    req.end();
  });
}
