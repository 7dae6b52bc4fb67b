/**
 * What a non-delay fault does to one request: a foreign error page, PikPak's rate-limit answer,
 * a dropped connection, a 200 with garbage, or no answer at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

import { jsonReply, textReply, writeReply } from './http-io.js';
import { errors } from './pikpak-errors.js';
import type { StrikingFault } from './faults.js';
import type { World } from './world.js';

/** A body no PikPak client can mistake for PikPak's own (a proxy's or load balancer's page). */
function foreignPage(status: number): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  return `<html><head><title>${status} ${reason}</title></head><body><center><h1>${status} ${reason}</h1></center><hr><center>nginx</center></body></html>`;
}

export async function strike(
  world: World,
  fault: StrikingFault,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  switch (fault.kind) {
    case 'status': {
      const body = fault.body ?? foreignPage(fault.status);
      const type = body.trimStart().startsWith('{') ? 'application/json' : 'text/html; charset=utf-8';
      return writeReply(res, textReply(fault.status, body, type));
    }
    case 'rate-limit': {
      world.count('rateLimited');
      const e = errors.rateLimited();
      return writeReply(res, jsonReply(e.status, e.body));
    }
    case 'drop':
      req.socket.destroy();
      return;
    case 'garbage':
      return writeReply(
        res,
        fault.shape === 'json'
          ? jsonReply(200, { code: 0, msg: 'ok', data: null })
          : textReply(200, '<html><body>Welcome to the network. Please log in.</body></html>', 'text/html'),
      );
    case 'timeout':
      // Never answer; the request ends when the client gives up or the emulator closes.
      req.resume();
      await new Promise<void>((resolve) => res.once('close', resolve));
      return;
  }
}
