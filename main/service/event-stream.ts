/**
 * `GET /v1/events`: server-sent events about accounts, never tokens.
 *
 *   event: state            {account, state, health, description}   every keeper state change
 *   event: rotated          {account, at, expires_at, via}          a new access token exists
 *   event: reauth-required  {account, reason, message}              a person must sign in again
 *   event: keychain         {available, problem}                    admin streams only
 *
 * A new stream first gets `retry:` and one `state` event per account it may see (a snapshot),
 * then live events; a comment line every `heartbeatMs` keeps proxies and dead-peer detection
 * honest. The hub subscribes to the broker once and fans out to every stream, filtered by the
 * client's accounts; streams are bounded in number (in total, and per client so that one client
 * cannot take every slot) and in unsent bytes (a consumer that stops reading is dropped).
 */
import type { ServerResponse } from 'node:http';
import type { AccountStateEvent, Broker } from '../core/broker.js';
import type { RotationEvent } from '../core/keeper.js';
import { describeState } from '../core/keeper-state.js';
import type { Logger } from '../core/ports.js';
import type { VaultStatus } from '../core/vault.js';
import { ClientRegistry, type Client } from './client-registry.js';

export interface EventHubOptions {
  readonly heartbeatMs: number;
  readonly maxStreams: number;
  /** Streams one client (the admin counts as one) may hold at once. */
  readonly maxStreamsPerClient: number;
  /** Unsent bytes after which a stream is closed. */
  readonly maxBufferedBytes: number;
  /** Suggested reconnect delay sent as `retry:`. */
  readonly retryMs: number;
}

interface Stream {
  readonly res: ServerResponse;
  /** undefined: the admin, who sees everything. */
  readonly client: Client | undefined;
}

export class EventHub {
  readonly #broker: Broker;
  readonly #log: Logger;
  readonly #options: EventHubOptions;
  readonly #now: () => number;
  readonly #streams = new Set<Stream>();
  /** Open streams per client name ('' for the admin). */
  readonly #perClient = new Map<string, number>();
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #unsubscribe: () => void;

  constructor(broker: Broker, log: Logger, now: () => number, options: EventHubOptions) {
    this.#broker = broker;
    this.#now = now;
    this.#log = log;
    this.#options = options;
    const onState = (e: AccountStateEvent): void => this.#onState(e);
    const onRotated = (e: RotationEvent): void => this.#onRotated(e);
    const onKeychain = (s: VaultStatus): void => this.#onKeychain(s);
    broker.on('account-state', onState);
    broker.on('rotated', onRotated);
    broker.on('keychain-status', onKeychain);
    this.#unsubscribe = () => {
      broker.off('account-state', onState);
      broker.off('rotated', onRotated);
      broker.off('keychain-status', onKeychain);
    };
  }

  get size(): number {
    return this.#streams.size;
  }

  get full(): boolean {
    return this.#streams.size >= this.#options.maxStreams;
  }

  /** Why `client` may not open another stream now: its own cap, the total, or nothing (undefined). */
  refusal(client: Client | undefined): 'client' | 'total' | undefined {
    if ((this.#perClient.get(keyOf(client)) ?? 0) >= this.#options.maxStreamsPerClient) return 'client';
    if (this.full) return 'total';
    return undefined;
  }

  /** Starts a stream on `res` (the caller checked `refusal` and authenticated the caller). */
  open(res: ServerResponse, client: Client | undefined): void {
    const stream: Stream = { res, client };
    const key = keyOf(client);
    this.#perClient.set(key, (this.#perClient.get(key) ?? 0) + 1);
    // Long-lived by design: no idle timeout on this socket (heartbeats detect dead peers).
    res.socket?.setTimeout(0);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // One stream per connection: when it ends (or the service closes), so does the socket.
      connection: 'close',
    });
    let snapshot = `retry: ${this.#options.retryMs}\n\n`;
    for (const account of this.#broker.accounts())
      if (!client || ClientRegistry.allows(client, account.name))
        snapshot += frame('state', {
          account: account.name,
          state: account.state.type,
          health: account.health,
          description: account.description,
        });
    if (!client) snapshot += frame('keychain', keychainData(this.#broker.vault.status));
    res.write(snapshot);
    this.#streams.add(stream);
    res.once('close', () => this.#drop(stream));
    this.#heartbeat ??= setInterval(
      () => this.#broadcast(': ping\n\n', undefined, false),
      this.#options.heartbeatMs,
    );
    this.#heartbeat.unref();
  }

  /** Ends every stream (service shutdown) and stops listening to the broker. */
  close(): void {
    this.#unsubscribe();
    for (const stream of this.#streams) stream.res.end();
    this.#streams.clear();
    this.#perClient.clear();
    this.#stopHeartbeat();
  }

  #onState(e: AccountStateEvent): void {
    this.#broadcast(
      frame('state', {
        account: e.account,
        state: e.state.type,
        health: e.health,
        description: describeState(e.state, this.#now()),
      }),
      e.account,
      false,
    );
    if (e.state.type === 'reauth-required' && e.previous.type !== 'reauth-required')
      this.#broadcast(
        frame('reauth-required', { account: e.account, reason: e.state.reason, message: e.state.message }),
        e.account,
        false,
      );
  }

  #onRotated(e: RotationEvent): void {
    this.#broadcast(
      frame('rotated', {
        account: e.account,
        at: new Date(e.at).toISOString(),
        expires_at: new Date(e.accessExpiresAt).toISOString(),
        via: e.via,
      }),
      e.account,
      false,
    );
  }

  #onKeychain(status: VaultStatus): void {
    this.#broadcast(frame('keychain', keychainData(status)), undefined, true);
  }

  /** Sends `text` to the streams allowed to see `account` (undefined: all), or only to the admin's. */
  #broadcast(text: string, account: string | undefined, adminOnly: boolean): void {
    for (const stream of this.#streams) {
      const { res, client } = stream;
      if (client && (adminOnly || (account !== undefined && !ClientRegistry.allows(client, account))))
        continue;
      if (res.writableLength > this.#options.maxBufferedBytes) {
        this.#log.warn({ client: client?.name ?? 'admin' }, 'an event stream stopped reading; closing it');
        res.destroy();
        this.#drop(stream);
        continue;
      }
      res.write(text);
    }
  }

  #drop(stream: Stream): void {
    if (!this.#streams.delete(stream)) return;
    const key = keyOf(stream.client);
    const left = (this.#perClient.get(key) ?? 1) - 1;
    if (left > 0) this.#perClient.set(key, left);
    else this.#perClient.delete(key);
    if (this.#streams.size === 0) this.#stopHeartbeat();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

const keyOf = (client: Client | undefined): string => (client ? `client:${client.name}` : 'admin');

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function keychainData(status: VaultStatus): { available: boolean; problem: string | null } {
  return { available: status.available, problem: status.problem ?? null };
}
