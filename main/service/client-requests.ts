/**
 * Consumers that have no client secret yet may ask for one; the owner decides in the tray app.
 *
 *   consumer                         broker                               owner (tray)
 *   POST /v1/client-requests ──────▶ submit(name, account) ─ changed ──▶ "alist asks for main (K7QF)"
 *        ◀── 202 {request_id, code}                                         approve / deny
 *   GET  /v1/client-requests/status  poll(ticket)          ◀──────────── approve(id): ClientRegistry.add
 *        Authorization: Bearer <request_id>
 *        ◀── 202 pending · 200 {secret} once · 403 denied / expired · 404 unknown
 *
 * The `request_id` is itself a secret (256 bits; only its SHA-256 is kept, and it travels in the
 * Authorization header, never in a logged path): whoever holds it receives the client secret,
 * exactly once. The short `code` is what the consumer prints and the tray shows, so the owner can
 * tell which program is asking. The `id` names a request between the app's windows and this queue.
 *
 * No oracle: every well-formed request gets the same answer (202 and a request id), whether the
 * account exists, the name is taken or the same name is already asked for — only the owner learns
 * that, in the tray, where approving such a request fails with the reason. Asking is bounded per
 * requester (per connection) and per listener, so TCP callers (any local user) cannot fill the
 * queue for the socket, and the owner (the admin credential) is never limited by anyone.
 *
 * Requests wait `ttlMs` for a decision. An approved secret waits `pickupMs` for its poll; one that
 * is never collected is revoked again, so no client exists whose secret nobody has. A denial or an
 * expiry is told once, then forgotten.
 */
import { EventEmitter } from 'node:events';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { systemClock, silentLogger, type Clock, type Logger, type TimerHandle } from '../core/ports.js';
import type { Secret } from '../core/secret.js';
import { digestHex, generateSecret } from './bearer.js';
import { ALL_ACCOUNTS, type ClientRegistry } from './client-registry.js';

export const REQUEST_ID_PREFIX = 'pkb_req_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** No 0/O, 1/I/L: the code is read aloud and typed. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export type ClientRequestErrorCode =
  | 'invalid_client'
  | 'too_many_requests'
  | 'request_not_found'
  /** The owner tried to approve a request that cannot be granted (no such account, name taken). */
  | 'cannot_approve';

/** Who asked: for the per-requester bounds and the log. */
export interface Requester {
  /** Requests from one pool never use up another's budget (e.g. 'socket' and 'tcp'). */
  readonly pool: string;
  /** One requester within its pool (a connection). */
  readonly key: string;
  /** The owner (admin credential): never limited. */
  readonly owner: boolean;
  /** Logged with the request (never a secret): e.g. {via:'tcp', remotePort, connection}. */
  readonly describe: Readonly<Record<string, unknown>>;
}

/** A caller inside the process (the owner's own code, tests): not limited. */
export const IN_PROCESS_REQUESTER: Requester = {
  pool: 'in-process',
  key: 'in-process',
  owner: true,
  describe: { via: 'in-process' },
};

export class ClientRequestError extends Error {
  readonly code: ClientRequestErrorCode;
  constructor(code: ClientRequestErrorCode, message: string) {
    super(message);
    this.name = 'ClientRequestError';
    this.code = code;
  }
}

export interface ClientRequestView {
  readonly id: string;
  readonly name: string;
  readonly account: string;
  /** A short code the asking program prints, so the user can tell which program asks. */
  readonly code: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
  /** Why approving would fail (the asker was not told): shown to the owner, who can deny it. */
  readonly problem?: string | undefined;
}

export interface Submitted {
  /** The consumer's handle to poll with (shown once, like a client secret). */
  readonly requestId: Secret;
  readonly code: string;
  readonly expiresAt: number;
}

export type PollResult =
  | { readonly status: 'pending'; readonly code: string; readonly expiresAt: number }
  | {
      readonly status: 'approved';
      readonly name: string;
      readonly accounts: readonly string[];
      readonly secret: Secret;
    }
  | { readonly status: 'denied' | 'expired' | 'unknown' };

export interface Decision {
  readonly id: string;
  readonly name: string;
  readonly account: string;
  readonly decision: 'approved' | 'denied' | 'expired' | 'uncollected';
}

export interface ClientRequestsEvents {
  /** The pending list changed (a request came, was decided, or expired). */
  changed: [];
  decided: [Decision];
}

export interface ClientRequestsOptions {
  readonly clients: Pick<ClientRegistry, 'add' | 'get' | 'revoke'>;
  /** The broker's accounts (a request names one of them, or "*"). */
  readonly accounts: () => readonly string[];
  readonly clock?: Clock;
  readonly log?: Logger;
  /** How long a request waits for the owner (default 10 minutes). */
  readonly ttlMs?: number;
  /** How long an approved secret waits to be collected (default 5 minutes). */
  readonly pickupMs?: number;
  /** Requests waiting at once per pool (default 8); more get `too_many_requests`. */
  readonly maxPending?: number;
  /** Requests waiting at once per requester (default 2). */
  readonly maxPendingPerRequester?: number;
  readonly randomBytes?: (size: number) => Buffer;
}

type Status = 'pending' | 'approved' | 'denied' | 'expired';

interface Entry {
  readonly id: string;
  readonly digest: string;
  readonly name: string;
  readonly account: string;
  readonly code: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly pool: string;
  readonly requesterKey: string;
  /** Owner requests do not count against any pool. */
  readonly owner: boolean;
  status: Status;
  /** Until when a decided entry is kept for its poll. */
  keepUntil: number;
  secret: Secret | undefined;
}

export class ClientRequests extends EventEmitter<ClientRequestsEvents> {
  readonly #clients: ClientRequestsOptions['clients'];
  readonly #accounts: () => readonly string[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #pickupMs: number;
  readonly #maxPending: number;
  readonly #maxPerRequester: number;
  readonly #random: (size: number) => Buffer;
  readonly #byDigest = new Map<string, Entry>();
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;

  constructor(options: ClientRequestsOptions) {
    super();
    this.#clients = options.clients;
    this.#accounts = options.accounts;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#pickupMs = options.pickupMs ?? 5 * 60_000;
    this.#maxPending = options.maxPending ?? 8;
    this.#maxPerRequester = options.maxPendingPerRequester ?? 2;
    this.#random = options.randomBytes ?? nodeRandomBytes;
  }

  /**
   * Queues a request. Throws only for what does not depend on the broker's state: a malformed
   * name or account, or the requester's (or its pool's) budget being used up.
   */
  submit(
    request: { readonly name: string; readonly account: string },
    requester: Requester = IN_PROCESS_REQUESTER,
  ): Submitted {
    this.#sweep();
    const { name, account } = request;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new ClientRequestError(
        'invalid_client',
        'Choose a client name of 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.',
      );
    if (typeof account !== 'string' || account.length === 0 || account.length > 64)
      throw new ClientRequestError('invalid_client', 'Name an account of 1–64 characters, or "*".');
    if (!requester.owner) {
      const pending = this.#entries().filter((e) => e.status === 'pending' && !e.owner);
      if (
        pending.filter((e) => e.pool === requester.pool && e.requesterKey === requester.key).length >=
        this.#maxPerRequester
      )
        throw new ClientRequestError(
          'too_many_requests',
          'This connection has as many requests waiting as it may; wait for the owner to decide.',
        );
      if (pending.filter((e) => e.pool === requester.pool).length >= this.#maxPending)
        throw new ClientRequestError('too_many_requests', 'Too many requests are waiting; try again later.');
    }

    const requestId = generateSecret(REQUEST_ID_PREFIX);
    const now = this.#clock.now();
    const entry: Entry = {
      id: this.#random(6).toString('hex'),
      digest: digestHex(requestId),
      name,
      account,
      code: this.#code(),
      requestedAt: now,
      expiresAt: now + this.#ttlMs,
      pool: requester.pool,
      requesterKey: requester.key,
      owner: requester.owner,
      status: 'pending',
      keepUntil: now + this.#ttlMs,
      secret: undefined,
    };
    this.#byDigest.set(entry.digest, entry);
    const problem = this.#problemOf(entry);
    this.#log.info(
      { client: name, account, code: entry.code, ...requester.describe, ...(problem ? { problem } : {}) },
      `client "${name}" asks for access to "${account}"`,
    );
    this.#schedule();
    this.emit('changed');
    return { requestId, code: entry.code, expiresAt: entry.expiresAt };
  }

  /** What the consumer holding `requestId` learns now. A secret, a denial or an expiry is told once. */
  poll(requestId: string): PollResult {
    this.#sweep();
    const entry = this.#byDigest.get(digestHex(requestId));
    if (!entry) return { status: 'unknown' };
    switch (entry.status) {
      case 'pending':
        return { status: 'pending', code: entry.code, expiresAt: entry.expiresAt };
      case 'approved': {
        const secret = entry.secret!;
        this.#byDigest.delete(entry.digest);
        this.#log.info({ client: entry.name }, `client "${entry.name}" collected its secret`);
        return { status: 'approved', name: entry.name, accounts: [entry.account], secret };
      }
      case 'denied':
      case 'expired':
        this.#byDigest.delete(entry.digest);
        return { status: entry.status };
    }
  }

  /** Requests waiting for the owner, oldest first. */
  pending(): ClientRequestView[] {
    this.#sweep();
    return this.#entries()
      .filter((e) => e.status === 'pending')
      .sort((a, b) => a.requestedAt - b.requestedAt)
      .map((e) => ({ ...view(e), problem: this.#problemOf(e) }));
  }

  /** Creates the client; its secret waits for the consumer's next poll. */
  async approve(id: string): Promise<ClientRequestView> {
    const entry = this.#pendingEntry(id);
    const problem = this.#problemOf(entry);
    if (problem !== undefined)
      throw new ClientRequestError('cannot_approve', `${problem} Deny this request.`);
    const secret = await this.#clients.add(entry.name, [entry.account]);
    if (entry.status !== 'pending') {
      // Expired or decided while the registry was writing: take the new client back.
      await this.#clients.revoke(entry.name).catch(() => undefined);
      throw new ClientRequestError('request_not_found', 'This request is no longer waiting.');
    }
    entry.status = 'approved';
    entry.secret = secret;
    entry.keepUntil = this.#clock.now() + this.#pickupMs;
    this.#decided(entry, 'approved');
    return view(entry);
  }

  deny(id: string): ClientRequestView {
    const entry = this.#pendingEntry(id);
    entry.status = 'denied';
    entry.keepUntil = this.#clock.now() + this.#pickupMs;
    this.#decided(entry, 'denied');
    return view(entry);
  }

  /** Stops the timer; pending requests are forgotten. */
  close(): void {
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#byDigest.clear();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  /** Why `entry` cannot be granted now (told to the owner only), or undefined. */
  #problemOf(entry: Entry): string | undefined {
    if (entry.account !== ALL_ACCOUNTS && !this.#accounts().includes(entry.account))
      return `There is no account named "${entry.account}".`;
    if (this.#clients.get(entry.name)) return `A client named "${entry.name}" exists already.`;
    for (const e of this.#byDigest.values()) {
      if (e === entry) break; // only requests that came earlier (the map keeps arrival order)
      if (e.status === 'pending' && e.name === entry.name)
        return `"${entry.name}" was asked for already (code ${e.code}).`;
    }
    return undefined;
  }

  #entries(): Entry[] {
    return [...this.#byDigest.values()];
  }

  #pendingEntry(id: string): Entry {
    this.#sweep();
    const entry = this.#entries().find((e) => e.id === id);
    if (!entry || entry.status !== 'pending')
      throw new ClientRequestError('request_not_found', 'This request is no longer waiting.');
    return entry;
  }

  #decided(entry: Entry, decision: Decision['decision']): void {
    this.#log.info({ client: entry.name, account: entry.account, decision }, `client request ${decision}`);
    this.emit('decided', { id: entry.id, name: entry.name, account: entry.account, decision });
    this.#schedule();
    this.emit('changed');
  }

  /** Applies every deadline that has passed. */
  #sweep(): void {
    const now = this.#clock.now();
    let changed = false;
    for (const entry of this.#entries()) {
      if (entry.status === 'pending' && entry.expiresAt <= now) {
        entry.status = 'expired';
        entry.keepUntil = now + this.#pickupMs;
        this.emit('decided', { id: entry.id, name: entry.name, account: entry.account, decision: 'expired' });
        changed = true;
      } else if (entry.status !== 'pending' && entry.keepUntil <= now) {
        this.#byDigest.delete(entry.digest);
        if (entry.status === 'approved') {
          entry.secret = undefined;
          this.#log.warn(
            { client: entry.name },
            `client "${entry.name}" never collected its secret; the client is revoked again`,
          );
          this.emit('decided', {
            id: entry.id,
            name: entry.name,
            account: entry.account,
            decision: 'uncollected',
          });
          void this.#clients
            .revoke(entry.name)
            .catch((error: unknown) =>
              this.#log.warn({ client: entry.name, error: (error as Error).message }, 'could not revoke'),
            );
        }
      }
    }
    if (changed) this.emit('changed');
  }

  #schedule(): void {
    const deadlines = this.#entries().map((e) => (e.status === 'pending' ? e.expiresAt : e.keepUntil));
    const next = deadlines.length ? Math.min(...deadlines) : undefined;
    if (next === this.#timerAt) return;
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === undefined) return;
    this.#timer = this.#clock.setTimer(
      () => {
        this.#timer = undefined;
        this.#timerAt = undefined;
        this.#sweep();
        this.#schedule();
      },
      Math.max(0, next - this.#clock.now()),
    );
  }

  #code(): string {
    const bytes = this.#random(4);
    let code = '';
    for (const byte of bytes) code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
    return code;
  }
}

function view(entry: Entry): ClientRequestView {
  return {
    id: entry.id,
    name: entry.name,
    account: entry.account,
    code: entry.code,
    requestedAt: entry.requestedAt,
    expiresAt: entry.expiresAt,
  };
}
