/** The shapes shared by the request handler and the route modules. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../core/broker.js';
import type { Logger } from '../core/ports.js';
import type { AdminCredential } from './admin-credential.js';
import { ClientRegistry, type Client } from './client-registry.js';
import type { EventHub } from './event-stream.js';
import { notScoped } from './http-error.js';
import type { RequestHeaders } from './request-headers.js';

export interface ServiceDeps {
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly admin: AdminCredential;
  readonly events: EventHub;
  readonly log: Logger;
  readonly now: () => number;
}

/** Who may call a route. `client` routes accept the admin too; `pikpak` routes authenticate in the body. */
export type Access = 'public' | 'client' | 'admin' | 'pikpak';

export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly deps: ServiceDeps;
  readonly headers: RequestHeaders;
  readonly path: string;
  readonly query: string;
  /** Path parameters, percent-decoded. */
  params: readonly string[];
  /** The authenticated client; undefined for the admin and on public routes. */
  client: Client | undefined;
  admin: boolean;
  /** The request body, when one was sent. */
  body: Buffer | undefined;
}

export interface Reply {
  readonly status: number;
  /** JSON text. */
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** A handler that answered by itself (the event stream). */
export const STREAMED = Symbol('streamed');

export type Handler = (call: Call) => Reply | Promise<Reply> | typeof STREAMED;

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** An exact path, or a pattern whose groups become `params`. */
  readonly path: string | RegExp;
  readonly access: Access;
  readonly handler: Handler;
}

export const reply = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(value),
  headers,
});

/** Throws 403 unless the caller (the admin, or a client scoped to it) may use `account`. */
export function assertScope(call: Call, account: string): void {
  if (!call.admin && (call.client === undefined || !ClientRegistry.allows(call.client, account)))
    throw notScoped(account);
}
