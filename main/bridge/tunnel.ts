/**
 * A CONNECT tunnel that is not intercepted: a TCP connection to the target and the bytes piped both
 * ways, untouched and never decrypted (AList's drive calls, downloads, every other host).
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort, rawResponse, type HostPort } from './http-util.js';

export interface TunnelOptions {
  readonly connectTimeoutMs: number;
  /** A tunnel with no traffic either way for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Called once, when both sides are gone. */
  readonly onClose?: () => void;
}

/**
 * Opens the tunnel for a client socket that just sent `CONNECT target`; `dial` is where to connect
 * (the target itself unless an override redirects it). Answers 502 when the target cannot be reached.
 */
export function openTunnel(
  client: Duplex,
  head: Buffer,
  target: HostPort,
  dial: HostPort,
  options: TunnelOptions,
): void {
  client.pause();
  const upstream: Socket = connect({ host: dial.host, port: dial.port });
  let established = false;
  let finished = false;
  /**
   * Ends the tunnel. `answer` first tells a client still waiting for its 200 why not; a side that
   * closed normally lets the other flush what it still has to write (then it is destroyed anyway).
   */
  const finish = (how: { status: number; message: string } | 'closed' | 'failed'): void => {
    if (finished) return;
    finished = true;
    if (typeof how === 'object' && !established) {
      upstream.destroy();
      rawResponse(client, how.status, how.message);
    } else if (how === 'closed') {
      client.end();
      upstream.end();
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, 2000).unref();
    } else {
      client.destroy();
      upstream.destroy();
    }
    options.onClose?.();
  };
  const where = formatHostPort(target);
  upstream.setTimeout(options.connectTimeoutMs, () =>
    finish(established ? 'failed' : { status: 504, message: `the bridge could not reach ${where} in time` }),
  );
  upstream.once('connect', () => {
    established = true;
    upstream.setNoDelay(true);
    upstream.setTimeout(options.idleTimeoutMs);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (error: NodeJS.ErrnoException) =>
    finish(
      established
        ? 'failed'
        : { status: 502, message: `the bridge could not reach ${where}: ${error.code ?? error.message}` },
    ),
  );
  upstream.on('close', () => finish('closed'));
  client.on('error', () => finish('failed'));
  client.on('close', () => finish(established ? 'closed' : 'failed'));
  if (typeof (client as Socket).setTimeout === 'function')
    (client as Socket).setTimeout(options.idleTimeoutMs, () => finish('failed'));
}
