/**
 * The soak's Node consumers. Each one loops until stopped: get a token from the broker, USE it on
 * the emulator's drive API (`GET /drive/v1/about` — no faults are injected there, so a refusal
 * means the token was not valid), pause 100–300 ms (seeded), again.
 *
 * - `socket-each`: `GET /v1/accounts/{a}/token` over the Unix socket before every use; when PikPak
 *   refuses the token, `POST …/token/rejected` with it (API.md) and use what comes back.
 * - `socket-cache`: the same API, but keeps a token until its `expires_at` and only then asks again
 *   (a refusal before `expires_at` is reported as rejected).
 * - `compat-json` / `compat-form`: PikPak's own refresh call on the token service
 *   (`POST /v1/auth/token`, `refresh_token=<secret>.<account>`), keeping the access token until PikPak
 *   refuses it — AList's `http` method, through the socket.
 * - `bridge-node`: the same PikPak call to `https://user.mypikpak.net` through the AList bridge
 *   (CONNECT + TLS with the bridge's CA); drive calls also through the bridge's tunnel. Stands in
 *   for the Go AList client where Go is not installed.
 */
import type { Agent } from 'node:http';
import { PRESETS } from '../../main/pikpak/protocol.js';
import { callThroughBridge } from './bridge-client.js';
import { HttpCallError, httpCall, keepAliveAgent, pause, type HttpAnswer } from './http-client.js';
import { between } from './random.js';
import type { ConsumerKind, ConsumerResult } from './types.js';
import { ValidityTracker } from './validity.js';

export type NodeVariant = 'socket-each' | 'socket-cache' | 'compat-json' | 'compat-form' | 'bridge-node';

const DESCRIPTIONS: Record<NodeVariant, string> = {
  'socket-each': 'socket API: GET …/token before every use; reports refused tokens (…/token/rejected)',
  'socket-cache': 'socket API: keeps a token until its expires_at; reports refused tokens',
  'compat-json':
    'PikPak-compatible POST /v1/auth/token (JSON, ?client_id) on the socket; refreshes when PikPak refuses',
  'compat-form':
    'PikPak-compatible POST /v1/auth/token (form, like x/oauth2) on the socket; refreshes when PikPak refuses',
  'bridge-node':
    'Node through the AList bridge (CONNECT + TLS, bridge CA): token call answered by the broker, drive calls tunnelled',
};

const KIND: Record<NodeVariant, ConsumerKind> = {
  'socket-each': 'socket',
  'socket-cache': 'socket',
  'compat-json': 'compat',
  'compat-form': 'compat',
  'bridge-node': 'bridge',
};

export interface NodeConsumerOptions {
  readonly name: string;
  readonly variant: NodeVariant;
  readonly account: string;
  /** The consumer's own client secret (`clients add`). */
  readonly secret: string;
  readonly socketPath: string;
  /** The emulator (http) for drive calls. */
  readonly driveBaseUrl: string;
  /** For `bridge-node`: the bridge's port, its CA, and the tunnelled drive host with its CA. */
  readonly bridge?: { port: number; caPem: string; driveHost: string; driveCaPem: string };
  readonly random: () => number;
  readonly pauseMs: readonly [number, number];
  /** Per request; longer than the daemon's PikPak timeout (15 s), so a hung refresh shows as a wait, not a failure. */
  readonly requestTimeoutMs: number;
}

interface Held {
  readonly token: string;
  /** ms since the epoch; undefined when the answer has no absolute expiry (PikPak's shape). */
  readonly expiresAt: number | undefined;
  /** The surrogate refresh token the PikPak-compatible answer carries, for the next refresh. */
  readonly refreshToken?: string;
}

type Acquired = { held: Held } | { failure: string; waitMs: number };

export class NodeConsumer {
  readonly #o: NodeConsumerOptions;
  readonly #socketAgent: Agent = keepAliveAgent();
  readonly #driveAgent: Agent = keepAliveAgent();
  readonly #tokenFailures: Record<string, number> = {};
  readonly #driveErrors: Record<string, number> = {};
  readonly #notes: string[] = [];
  #tracker: ValidityTracker | undefined;
  #tokenRequests = 0;
  #driveCalls = 0;
  #driveRejected = 0;
  #stale = 0;
  #surrogate: string;

  constructor(options: NodeConsumerOptions) {
    this.#o = options;
    this.#surrogate = `${options.secret}.${options.account}`;
  }

  get name(): string {
    return this.#o.name;
  }

  get validUses(): number {
    return this.#tracker?.figures(Date.now()).validUses ?? 0;
  }

  /** Runs until `signal` aborts; `loadStart` opens the first validity interval. */
  async run(loadStart: number, signal: AbortSignal): Promise<void> {
    const tracker = new ValidityTracker(loadStart);
    this.#tracker = tracker;
    const { variant } = this.#o;
    let held: Held | undefined;
    let refusedInARow = 0;
    while (!signal.aborted) {
      let fresh = false;
      if (
        !held ||
        variant === 'socket-each' ||
        (variant === 'socket-cache' && Date.now() >= (held.expiresAt ?? 0))
      ) {
        const got = await this.#acquire(signal);
        if (signal.aborted) break;
        if ('failure' in got) {
          this.#count(this.#tokenFailures, got.failure);
          held = undefined;
          await pause(got.waitMs, signal);
          continue;
        }
        held = got.held;
        fresh = true;
      }
      const used = await this.#use(held.token, signal);
      if (signal.aborted) break;
      if (used === 'ok') {
        tracker.ok();
        refusedInARow = 0;
      } else if (used === 'refused') {
        this.#driveRejected += 1;
        if (fresh) this.#stale += 1;
        refusedInARow += 1;
        if (variant === 'socket-each' || variant === 'socket-cache') {
          const got = await this.#reportRejected(held.token, signal);
          if ('failure' in got) {
            this.#count(this.#tokenFailures, got.failure);
            held = undefined;
            await pause(got.waitMs, signal);
            continue;
          }
          held = got.held;
        } else {
          held = undefined; // AList-style: refresh at once, then use again
        }
        // Use the replacement at once, unless refusals repeat (then pace, as below).
        if (refusedInARow < 2) continue;
      }
      await pause(between(this.#o.random, this.#o.pauseMs[0], this.#o.pauseMs[1]), signal);
    }
  }

  result(loadEnd: number): ConsumerResult {
    const figures = (this.#tracker ?? new ValidityTracker(loadEnd)).figures(loadEnd);
    this.#socketAgent.destroy();
    this.#driveAgent.destroy();
    return {
      name: this.#o.name,
      kind: KIND[this.#o.variant],
      client: 'node',
      variant: DESCRIPTIONS[this.#o.variant],
      tokenRequests: this.#tokenRequests,
      tokenFailures: { ...this.#tokenFailures },
      driveCalls: this.#driveCalls,
      driveRejected: this.#driveRejected,
      staleHandouts: this.#stale,
      driveErrors: { ...this.#driveErrors },
      validUses: figures.validUses,
      longestGapMs: figures.longestGapMs,
      longestGapStartS: Math.round(figures.longestGapStartMs / 100) / 10,
      gapsOver2s: figures.gapsOver2s,
      restarts: 0,
      notes: [...this.#notes],
    };
  }

  // ── getting a token ─────────────────────────────────────────────────────────────────────────

  #acquire(signal: AbortSignal): Promise<Acquired> {
    switch (this.#o.variant) {
      case 'socket-each':
      case 'socket-cache':
        return this.#socket(
          { method: 'GET', path: `/v1/accounts/${encodeURIComponent(this.#o.account)}/token` },
          signal,
        );
      case 'compat-json':
        return this.#compat(
          {
            method: 'POST',
            path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
            json: this.#refreshFields(),
          },
          signal,
        );
      case 'compat-form':
        return this.#compat({ method: 'POST', path: '/v1/auth/token', form: this.#refreshFields() }, signal);
      case 'bridge-node':
        return this.#bridgeToken(signal);
    }
  }

  #refreshFields(): Record<string, string> {
    return {
      client_id: PRESETS.android.clientId,
      client_secret: PRESETS.android.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: this.#surrogate,
    };
  }

  #reportRejected(token: string, signal: AbortSignal): Promise<Acquired> {
    return this.#socket(
      {
        method: 'POST',
        path: `/v1/accounts/${encodeURIComponent(this.#o.account)}/token/rejected`,
        json: { access_token: token },
      },
      signal,
    );
  }

  async #socket(
    request: { method: string; path: string; json?: unknown },
    signal: AbortSignal,
  ): Promise<Acquired> {
    this.#tokenRequests += 1;
    let answer: HttpAnswer;
    try {
      answer = await httpCall({
        target: { socketPath: this.#o.socketPath },
        ...request,
        headers: { authorization: `Bearer ${this.#o.secret}` },
        agent: this.#socketAgent,
        timeoutMs: this.#o.requestTimeoutMs,
        signal,
      });
    } catch (error) {
      return { failure: failureOf(error), waitMs: 250 };
    }
    const body = answer.json as
      { access_token?: string; expires_at?: string; error?: { code?: string } } | undefined;
    if (answer.status === 200 && typeof body?.access_token === 'string') {
      const expiresAt = body.expires_at ? Date.parse(body.expires_at) : Number.NaN;
      return {
        held: { token: body.access_token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : undefined },
      };
    }
    return {
      failure: `${answer.status} ${body?.error?.code ?? 'no-error-code'}`,
      waitMs: retryWait(answer),
    };
  }

  async #compat(
    request: { method: string; path: string; json?: unknown; form?: Record<string, string> },
    signal: AbortSignal,
  ): Promise<Acquired> {
    this.#tokenRequests += 1;
    let answer: HttpAnswer;
    try {
      answer = await httpCall({
        target: { socketPath: this.#o.socketPath },
        ...request,
        agent: this.#socketAgent,
        timeoutMs: this.#o.requestTimeoutMs,
        signal,
      });
    } catch (error) {
      return { failure: failureOf(error), waitMs: 250 };
    }
    return this.#pikpakAnswer(answer);
  }

  async #bridgeToken(signal: AbortSignal): Promise<Acquired> {
    const bridge = this.#o.bridge!;
    this.#tokenRequests += 1;
    let answer: HttpAnswer;
    try {
      answer = await callThroughBridge({
        proxyPort: bridge.port,
        host: 'user.mypikpak.net',
        path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
        ca: bridge.caPem,
        proxySecret: this.#o.secret,
        json: this.#refreshFields(),
        timeoutMs: this.#o.requestTimeoutMs,
        signal,
      });
    } catch (error) {
      return { failure: failureOf(error), waitMs: 250 };
    }
    return this.#pikpakAnswer(answer);
  }

  /** PikPak's token answer shape: `{access_token, refresh_token, expires_in}` or `{error, error_code}`. */
  #pikpakAnswer(answer: HttpAnswer): Acquired {
    const body = answer.json as
      { access_token?: string; refresh_token?: string; error?: string; error_code?: number } | undefined;
    if (answer.status === 200 && typeof body?.access_token === 'string') {
      if (typeof body.refresh_token === 'string' && body.refresh_token !== this.#surrogate) {
        this.#notes.push(`the surrogate refresh token changed (${body.refresh_token.length} chars)`);
        this.#surrogate = body.refresh_token;
      }
      return { held: { token: body.access_token, expiresAt: undefined } };
    }
    return {
      failure: `${answer.status} ${body?.error ?? 'not-pikpak-shape'}`,
      waitMs: retryWait(answer),
    };
  }

  // ── using it ────────────────────────────────────────────────────────────────────────────────

  async #use(token: string, signal: AbortSignal): Promise<'ok' | 'refused' | 'error'> {
    this.#driveCalls += 1;
    let answer: HttpAnswer;
    try {
      const bridge = this.#o.bridge;
      answer =
        this.#o.variant === 'bridge-node' && bridge
          ? await callThroughBridge({
              proxyPort: bridge.port,
              host: bridge.driveHost,
              path: '/drive/v1/about',
              ca: bridge.driveCaPem,
              proxySecret: this.#o.secret,
              headers: { authorization: `Bearer ${token}` },
              timeoutMs: this.#o.requestTimeoutMs,
              signal,
            })
          : await httpCall({
              target: { base: this.#o.driveBaseUrl },
              path: '/drive/v1/about',
              headers: { authorization: `Bearer ${token}` },
              agent: this.#driveAgent,
              timeoutMs: this.#o.requestTimeoutMs,
              signal,
            });
    } catch (error) {
      if (!signal.aborted) this.#count(this.#driveErrors, failureOf(error));
      return 'error';
    }
    if (answer.status === 200) return 'ok';
    if (answer.status === 401) return 'refused';
    this.#count(this.#driveErrors, `${answer.status}`);
    return 'error';
  }

  #count(into: Record<string, number>, key: string): void {
    into[key] = (into[key] ?? 0) + 1;
  }
}

function failureOf(error: unknown): string {
  if (error instanceof HttpCallError) return error.code === 'timeout' ? 'timeout' : `network ${error.code}`;
  return `error ${(error as Error).message}`;
}

/** Honour Retry-After, but poll at least every second: the soak measures the broker, not patience. */
function retryWait(answer: HttpAnswer): number {
  const header = Number(answer.headers['retry-after']);
  return Number.isFinite(header) && header > 0 ? Math.min(header * 1000, 1000) : 250;
}
