/**
 * A seeded generator of hostile byte-level requests for the token service (Unix socket and
 * loopback TCP) and the AList bridge. The same seed gives the same cases in the same order
 * (their bytes carry the context's secrets and ports); the same seed and context, the same bytes.
 *
 * Every case is **invalid by construction**: no generated request may be served. Valid-looking
 * requests carry a wrong secret, a browser header, a foreign Host, a broken body or a field that
 * the route refuses; requests that carry the real client secret or the admin credential always
 * have something else wrong (checked here, not hoped for). So any 2xx answer is a bug, and so is
 * any answer that is not a clean error (see hostile-client.ts).
 *
 * Nothing generated reaches the real PikPak, even if the bridge wrongly accepted a bad target: it
 * is only ever asked to open tunnels to loopback names, to forward absolute-form requests to
 * loopback ports, or to answer (or refuse) PikPak's token paths itself (checked with the bridge's
 * own `classifyAuthPath`); requests inside an intercepted TLS connection only use those paths or
 * targets no URL parser accepts. (The test also checks the bridge's log for what it dialled.)
 *
 * Bridge cases carry proxy credentials (`proxySecret`, a client scoped to an account that does not
 * exist: it passes the proxy check, so the cases reach the bridge's parsing and routing, and a
 * token call that carries no credential of its own, served as that client, gets no token), except
 * the `bridge-unauthenticated` ones, which carry none or wrong ones and must get 407.
 */
import { classifyAuthPath } from '../../main/bridge/auth-host.js';
import { proxyAuthorization } from '../../main/bridge/testing/proxy-client.js';

export type Category =
  | 'request-line'
  | 'headers'
  | 'framing'
  | 'oversized-body'
  | 'partial-body'
  | 'random-json'
  | 'path-method'
  | 'bad-secret'
  | 'browser'
  | 'bridge-bad-connect'
  | 'bridge-tunnel-loopback'
  | 'bridge-plain'
  | 'bridge-tls-garbage'
  | 'bridge-inside-tls'
  | 'bridge-unauthenticated';

export type Target = 'socket' | 'tcp' | 'bridge';

export interface Expectation {
  /** When answered, the first final answer has one of these statuses (else: any clean error). */
  readonly statuses?: readonly number[];
  /** …and one of these error codes (`error.code`, or PikPak's `error`). */
  readonly codes?: readonly string[];
  /** The request is complete and well-formed enough that an answer (not just a close) is owed. */
  readonly mustAnswer?: boolean;
  /** The request is incomplete on purpose: the server may keep waiting for the rest. */
  readonly mayWait?: boolean;
  /** A well-formed tunnel or forward to a closed loopback port: 502/504 are the right answers. */
  readonly gateway?: boolean;
  /** The request is HEAD: answers carry no body. */
  readonly head?: boolean;
  /** After a CONNECT to an intercepted host, TLS records (an alert) are a fine reply to garbage. */
  readonly tls?: boolean;
}

/** Bridge cases that first open a CONNECT tunnel (expecting 200), then maybe TLS inside it. */
export interface Via {
  readonly connect: string;
  /** Bytes sent in the same write as the CONNECT head (an optimistic client). */
  readonly withConnect?: Buffer;
  /** The CONNECT's `Proxy-Authorization` value. */
  readonly proxyAuthorization?: string;
  /** Do a TLS handshake inside the tunnel (with this SNI; '' for none) before the writes. */
  readonly tls?: { readonly servername: string };
}

export type Finish =
  /** Wait for the answer(s) and the server's close (bounded by the runner's deadline). */
  | { readonly kind: 'wait' }
  /** Hang up right after the last write. */
  | { readonly kind: 'abort' }
  /** Say nothing for `ms`, then hang up (`abort`) or half-close (`end`) and wait. */
  | { readonly kind: 'stall'; readonly ms: number; readonly then: 'abort' | 'end' };

export interface HostileCase {
  readonly id: number;
  readonly category: Category;
  /** The sub-kind, for the report. */
  readonly variant: string;
  readonly target: Target;
  /** How answers after any CONNECT preamble are judged: the service's rules or the bridge's. */
  readonly judgeAs: 'service' | 'bridge';
  readonly via?: Via;
  readonly writes: readonly Buffer[];
  readonly finish: Finish;
  readonly expect: Expectation;
}

/** A slow client: its bytes go out one small piece every `intervalMs`, never finishing. */
export interface SlowCase {
  readonly id: number;
  readonly variant: string;
  readonly target: Target;
  readonly judgeAs: 'service' | 'bridge';
  readonly via?: Via;
  /** Sent at once. */
  readonly prefix: Buffer;
  /** Then this, one byte at a time. */
  readonly trickle: Buffer;
  readonly intervalMs: number;
  /** Which server limit must cut it off. */
  readonly limit: 'headers' | 'request';
}

export interface GeneratorContext {
  /** The one signed-in account and its PikPak username. */
  readonly account: string;
  readonly username: string;
  /** A valid client secret scoped to `account`, the admin credential, a revoked client secret. */
  readonly clientSecret: string;
  readonly adminToken: string;
  readonly revokedSecret: string;
  /** The bridge's proxy credentials: a client secret scoped to an account that does not exist. */
  readonly proxySecret: string;
  /** Client names that exist: no generated request may revoke them (only wrong credentials name them). */
  readonly clientNames: readonly string[];
  readonly socketPath: string;
  /** Loopback ports: one nobody listens on, the bridge's own, the token service's TCP port. */
  readonly closedPort: number;
  readonly bridgePort: number;
  readonly servicePort: number;
}

export type CategoryCounts = Readonly<Record<Category, number>>;

export const DEFAULT_COUNTS: CategoryCounts = {
  'request-line': 900,
  headers: 900,
  framing: 900,
  'oversized-body': 240,
  'partial-body': 480,
  'random-json': 2900,
  'path-method': 900,
  'bad-secret': 700,
  browser: 700,
  'bridge-bad-connect': 650,
  'bridge-tunnel-loopback': 150,
  'bridge-plain': 550,
  'bridge-tls-garbage': 220,
  'bridge-inside-tls': 320,
  'bridge-unauthenticated': 300,
};

export const BODY_LIMIT = 64 * 1024;
const INTERCEPTED = ['user.mypikpak.net', 'user.mypikpak.com'] as const;

// ── randomness ────────────────────────────────────────────────────────────────────────────────

/** mulberry32: small, fast, good enough to spread cases; seeded so every run is the same. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** lo..hi inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  text(length: number, alphabet = ALNUM): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64URL = `${ALNUM}-_`;
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const CTL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i))
  .filter((c) => c !== '\t')
  .concat('\x7f');

// ── HTTP building ─────────────────────────────────────────────────────────────────────────────

type Header = readonly [string, string];

/** A request head, byte for byte (latin1: every char is one byte). */
function head(line: string, headers: readonly Header[], eol = '\r\n'): Buffer {
  let text = line + eol;
  for (const [name, value] of headers) text += `${name}: ${value}${eol}`;
  return Buffer.from(text + eol, 'latin1');
}

function request(
  method: string,
  path: string,
  headers: readonly Header[],
  body?: Buffer | string,
  options: { contentLength?: boolean } = {},
): Buffer {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const all: Header[] = [...headers];
  if (payload !== undefined && options.contentLength !== false)
    all.push(['Content-Length', String(payload.length)]);
  const h = head(`${method} ${path} HTTP/1.1`, all);
  return payload === undefined ? h : Buffer.concat([h, payload]);
}

function chunked(body: Buffer, rng: Rng): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const size = Math.min(body.length - at, rng.range(1, 16 * 1024));
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
    at += size;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

const bearer = (secret: string): Header => ['Authorization', `Bearer ${secret}`];
const CLOSE: Header = ['Connection', 'close'];
const JSON_TYPE: Header = ['Content-Type', 'application/json'];
const FORM_TYPE: Header = ['Content-Type', 'application/x-www-form-urlencoded'];

// ── the generator ─────────────────────────────────────────────────────────────────────────────

export interface Generated {
  readonly cases: HostileCase[];
  readonly slow: SlowCase[];
}

export function generate(
  seed: number,
  ctx: GeneratorContext,
  counts: CategoryCounts = DEFAULT_COUNTS,
): Generated {
  const rng = new Rng(seed);
  const g = new Generator(rng, ctx);
  const cases: HostileCase[] = [];
  const makers: Record<Category, () => Omit<HostileCase, 'id' | 'category'>> = {
    'request-line': () => g.requestLine(),
    headers: () => g.headers(),
    framing: () => g.framing(),
    'oversized-body': () => g.oversized(),
    'partial-body': () => g.partial(),
    'random-json': () => g.randomJson(),
    'path-method': () => g.pathMethod(),
    'bad-secret': () => g.badSecret(),
    browser: () => g.browser(),
    'bridge-bad-connect': () => g.bridgeBadConnect(),
    'bridge-tunnel-loopback': () => g.bridgeTunnelLoopback(),
    'bridge-plain': () => g.bridgePlain(),
    'bridge-tls-garbage': () => g.bridgeTlsGarbage(),
    'bridge-inside-tls': () => g.bridgeInsideTls(),
    'bridge-unauthenticated': () => g.bridgeUnauthenticated(),
  };
  for (const category of Object.keys(counts) as Category[])
    for (let i = 0; i < counts[category]; i++) cases.push({ id: 0, category, ...makers[category]() });
  // Interleave categories so that the barrage mixes them (Fisher-Yates with the same generator).
  for (let i = cases.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [cases[i], cases[j]] = [cases[j]!, cases[i]!];
  }
  return {
    cases: cases.map((c, id) => ({ ...c, id })),
    slow: g.slow().map((c, i) => ({ ...c, id: cases.length + i })),
  };
}

type Made = Omit<HostileCase, 'id' | 'category'>;

const WAIT: Finish = { kind: 'wait' };
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'] as const;
const ODD_METHODS = ['PROPFIND', 'MKCOL', 'LOCK', 'SEARCH', 'PURGE', 'REPORT', 'LINK', 'QUERY', 'SOURCE'];

class Generator {
  constructor(
    private readonly rng: Rng,
    private readonly ctx: GeneratorContext,
  ) {}

  // ── service helpers ──

  private svcTarget(): Target {
    return this.rng.chance(0.5) ? 'socket' : 'tcp';
  }

  /** A Host the service accepts (or none). */
  private okHost(target: Target): Header[] {
    const r = this.rng;
    if (r.chance(0.1)) return [];
    if (target === 'socket' && r.chance(0.15))
      return [['Host', r.chance(0.5) ? this.ctx.socketPath : encodeURIComponent(this.ctx.socketPath)]];
    const host = r.pick([
      'localhost',
      'LocalHost',
      '127.0.0.1',
      `127.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`,
      '[::1]',
    ]);
    return [['Host', r.chance(0.3) ? `${host}:${r.range(1, 65535)}` : host]];
  }

  /** A service case on the socket or the TCP port; the writes depend on which (Host headers). */
  private svcWith(
    variant: string,
    build: (target: Target) => Buffer | Buffer[],
    expect: Expectation,
    finish: Finish = WAIT,
  ): Made {
    const target = this.svcTarget();
    const writes = build(target);
    return {
      variant,
      target,
      judgeAs: 'service',
      writes: Array.isArray(writes) ? writes : [writes],
      finish,
      expect,
    };
  }

  private randomAccount(): string {
    const r = this.rng;
    let name = r.pick([
      () => r.text(r.range(1, 20)),
      () => `acc-${r.text(6)}`,
      () => r.text(r.range(65, 140)),
      () => '..',
      () => '%2e%2e',
      () => `${r.text(3)}%00${r.text(3)}`,
      () => `${r.text(3)}%zz`,
      () => encodeURIComponent('ünï-cødé'),
      () => '%F0%9F%92%A9',
      () => `${r.text(4)}.${r.text(4)}`,
    ])();
    if (name === this.ctx.account) name = `${name}x`;
    return name;
  }

  /**
   * A valid-looking secret that is wrong everywhere, as a bearer and in a PikPak-compatible body
   * (so never `<secret>.<account>`, which the compatible endpoints accept).
   */
  private wrongSecret(): string {
    const r = this.rng;
    const real = this.ctx.clientSecret;
    return r.pick([
      () => `pkb_${r.text(43, B64URL)}`,
      () => `pkb_admin_${r.text(43, B64URL)}`,
      () => this.ctx.revokedSecret,
      () => flipOne(real, r),
      () => real.slice(0, -1),
      () => `${real}${r.pick(['x', '0', '-'])}`,
      () => `x${real}`,
      () => flipOne(this.ctx.adminToken, r),
      () => r.text(r.range(1, 200), PRINTABLE.replace(/[\s]/g, '')),
    ])();
  }

  // ── categories ──

  requestLine(): Made {
    const r = this.rng;
    // Not /v1/health: it is public, and a lenient parse of a line (HTTP/0.9, HTTP/2.0) would serve it.
    const path = r.pick(['/v1/accounts', '/', `/v1/accounts/${this.ctx.account}/token`, '/v1/status', '*']);
    const headers = (t: Target): Header[] => [...this.okHost(t), CLOSE];
    const variant = r.pick([
      'bad-method',
      'lowercase-method',
      'long-method',
      'bad-version',
      'no-version',
      'ctl-in-target',
      'space-in-target',
      'huge-target',
      'binary-garbage',
      'tls-hello',
      'h2-preface',
      'missing-target',
      'extra-tokens',
      'leading-junk',
    ] as const);
    return this.svcWith(
      `request-line/${variant}`,
      (t) => {
        switch (variant) {
          case 'bad-method':
            return head(
              `${r.pick(['GETT', 'G3T', 'P@ST', 'GET\x00', 'DELETE!', '-', 'HTTP/1.1'])} ${path} HTTP/1.1`,
              headers(t),
            );
          case 'lowercase-method':
            return head(`${r.pick(METHODS).toLowerCase()} ${path} HTTP/1.1`, headers(t));
          case 'long-method':
            return head(
              `${r.text(r.range(20, 4000), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')} ${path} HTTP/1.1`,
              headers(t),
            );
          case 'bad-version':
            return head(
              `GET ${path} ${r.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/3', 'HTTP/9.9', 'http/1.1', 'HTTP/11', 'HTTP/1.1x', 'HTTP/', 'HTTPS/1.1', 'HTTP/1.-1', 'ICY'])}`,
              headers(t),
            );
          case 'no-version':
            return Buffer.from(`GET ${path}\r\n\r\n`, 'latin1');
          case 'ctl-in-target':
            return head(`GET /v1/${r.pick(CTL)}health${r.pick(CTL)} HTTP/1.1`, headers(t));
          case 'space-in-target':
            return head(`GET /v1/ health HTTP/1.1`, headers(t));
          case 'huge-target':
            return head(`GET /v1/${r.text(r.range(17 * 1024, 40 * 1024))} HTTP/1.1`, headers(t));
          case 'binary-garbage':
            return Buffer.concat([r.bytes(r.range(1, 2048)), Buffer.from('\r\n\r\n')]);
          case 'tls-hello':
            return Buffer.concat([
              Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
              r.bytes(r.range(32, 512)),
            ]);
          case 'h2-preface':
            return Buffer.concat([
              Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
              r.bytes(r.range(0, 64)),
            ]);
          case 'missing-target':
            return head('GET  HTTP/1.1', headers(t));
          case 'extra-tokens':
            return head(`GET ${path} HTTP/1.1 ${r.text(5)}`, headers(t));
          case 'leading-junk':
            return Buffer.concat([
              Buffer.from(r.pick(['\r\n\r\n\r\n', ' ', '\x00', '\t'])),
              head(`GET ${path} HTTP/1.1`, headers(t)),
            ]);
        }
      },
      {},
    );
  }

  headers(): Made {
    const r = this.rng;
    const line = `GET /v1/accounts/${this.ctx.account}/token HTTP/1.1`;
    const variant = r.pick([
      'space-in-name',
      'space-before-colon',
      'no-colon',
      'nul-in-value',
      'ctl-in-value',
      'ctl-in-name',
      'obs-fold',
      'empty-name',
      'huge-line',
      'huge-total',
      'many-headers',
      'bare-lf',
      'bare-cr',
      'latin1-value',
      'duplicate-host',
      'duplicate-authorization',
      'duplicate-content-type',
      'odd-authorization',
      'odd-host',
      'expect',
    ] as const);
    const base = (t: Target): Header[] => [...this.okHost(t), CLOSE];
    // Duplicates and odd values carry the real secret: they must still not be served.
    const real = bearer(this.ctx.clientSecret);
    let expect: Expectation = {};
    const build = (t: Target): Buffer => {
      switch (variant) {
        case 'space-in-name':
          return head(line, [...base(t), [`X Bad${r.text(3)}`, 'x']]);
        case 'space-before-colon':
          return head(line, [...base(t), ['Authorization ', `Bearer ${this.ctx.clientSecret}`]]);
        case 'no-colon':
          return Buffer.from(
            `${line}\r\n${base(t)
              .map(([n, v]) => `${n}: ${v}\r\n`)
              .join('')}JustText${r.text(8)}\r\n\r\n`,
            'latin1',
          );
        case 'nul-in-value':
          return head(line, [...base(t), [`X-${r.text(4)}`, `a\x00b${r.text(4)}`]]);
        case 'ctl-in-value':
          return head(line, [
            ...base(t),
            [`X-${r.text(4)}`, `a${r.pick(CTL.filter((c) => c !== '\r' && c !== '\n'))}b`],
          ]);
        case 'ctl-in-name':
          return head(line, [
            ...base(t),
            [`X-${r.pick(CTL.filter((c) => c !== '\r' && c !== '\n'))}${r.text(3)}`, 'v'],
          ]);
        case 'obs-fold':
          return Buffer.from(
            `${line}\r\nHost: localhost\r\nX-Folded: a\r\n ${r.text(5)}\r\nConnection: close\r\n\r\n`,
            'latin1',
          );
        case 'empty-name':
          return head(line, [...base(t), ['', r.text(5)]]);
        case 'huge-line':
          expect = { statuses: [400, 431] };
          return head(line, [...base(t), [`X-Big`, r.text(r.range(16 * 1024 + 1, 48 * 1024))]]);
        case 'huge-total':
          expect = { statuses: [400, 431] };
          return head(line, [
            ...base(t),
            ...Array.from({ length: r.range(20, 60) }, (_, i): Header => [`X-Part-${i}`, r.text(900)]),
          ]);
        case 'many-headers':
          // Under the size limit: Node keeps the first 100, the request then fails for want of a secret.
          return head(line, [
            ...base(t),
            ...Array.from({ length: r.range(101, 1500) }, (_, i): Header => [`X${i}`, '1']),
          ]);
        case 'bare-lf':
          return head(line, base(t), '\n');
        case 'bare-cr':
          return Buffer.from(`${line}\r\nHost: localhost\rX-Evil: 1\r\nConnection: close\r\n\r\n`, 'latin1');
        case 'latin1-value':
          return head(line, [
            ...base(t),
            ['X-Latin', Buffer.from(r.bytes(12).map((b) => b | 0x80)).toString('latin1')],
          ]);
        case 'duplicate-host':
          // The Host check may see the foreign one first (403) or the duplicate (400).
          expect = { statuses: [400, 403], codes: ['bad_request', 'host_not_allowed'] };
          return head(line, [
            ['Host', 'localhost'],
            ['Host', r.pick(['localhost', '127.0.0.1', 'evil.example'])],
            real,
            CLOSE,
          ]);
        case 'duplicate-authorization':
          expect = { statuses: [400], codes: ['bad_request'] };
          return head(line, [...base(t), real, r.chance(0.5) ? real : bearer(this.wrongSecret())]);
        case 'duplicate-content-type':
          expect = { statuses: [400], codes: ['bad_request'] };
          return request(
            'POST',
            `/v1/accounts/${this.ctx.account}/token/rejected`,
            [...base(t), real, JSON_TYPE, JSON_TYPE],
            '{"access_token":"x"}',
          );
        case 'odd-authorization':
          // A DEL in the value is unparsable HTTP (400); anything else is a wrong secret (401).
          expect = { statuses: [400, 401], codes: ['unauthorized', 'bad_request'] };
          return head(line, [
            ...base(t),
            [
              'Authorization',
              r.pick([
                'Bearer',
                'Bearer ',
                'Bearer\t',
                `Basic ${Buffer.from(`x:${this.ctx.clientSecret}`).toString('base64')}`,
                `Token ${this.ctx.clientSecret}`,
                `Bearer${this.ctx.clientSecret}`,
                `Bearer ${this.ctx.clientSecret} ${this.ctx.clientSecret}`,
                `Bearer ${r.text(r.range(1000, 12_000), B64URL)}`,
                `Bearer ${Buffer.from(r.bytes(40).map((b) => b | 0x80)).toString('latin1')}`,
                `Bearer ${this.ctx.clientSecret}\x7f`,
              ]),
            ],
          ]);
        case 'odd-host':
          return head(line, [
            [
              'Host',
              r.pick([
                'localhost/evil',
                'user@localhost',
                'localhost:',
                'localhost:99999999',
                '127.0.0.1:-1',
                '[::1',
                '::1',
                'localhost\x00',
                '',
                '127.0.0.1 127.0.0.1',
              ]),
            ],
            real,
            CLOSE,
          ]);
        case 'expect':
          // Not 100-continue: refused (API.md), in the service's error shape.
          expect = { statuses: [417], codes: ['expectation_failed'], mustAnswer: true };
          return head(line, [
            ...base(t),
            ['Expect', r.pick(['weird', '200-ok', `${r.text(8)}`, '100-continued-later'])],
          ]);
      }
    };
    const made = this.svcWith(`headers/${variant}`, build, {});
    return { ...made, expect };
  }

  framing(): Made {
    const r = this.rng;
    const path = r.pick([
      '/v1/auth/token',
      '/v1/auth/signin',
      `/v1/accounts/${this.ctx.account}/token/rejected`,
      '/v1/admin/login',
    ]);
    const body = '{"grant_type":"nope"}';
    const variant = r.pick([
      'cl-twice-same',
      'cl-twice-different',
      'cl-and-te',
      'te-not-chunked-last',
      'te-unknown',
      'te-twice',
      'cl-not-a-number',
      'cl-negative',
      'cl-huge-number',
      'chunk-size-bad',
      'chunk-size-huge',
      'chunk-ext-garbage',
      'chunk-no-crlf',
      'chunk-longer-than-size',
      'body-longer-than-cl',
      'get-with-body',
    ] as const);
    const build = (t: Target): Buffer => {
      const h: Header[] = [...this.okHost(t), JSON_TYPE, ...(r.chance(0.7) ? [CLOSE] : [])];
      const te: Header = ['Transfer-Encoding', 'chunked'];
      switch (variant) {
        case 'cl-twice-same':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [
              ...h,
              ['Content-Length', String(body.length)],
              ['Content-Length', String(body.length)],
            ]),
            Buffer.from(body),
          ]);
        case 'cl-twice-different':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [
              ...h,
              ['Content-Length', String(body.length)],
              ['Content-Length', '3'],
            ]),
            Buffer.from(body),
          ]);
        case 'cl-and-te':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, ['Content-Length', String(r.range(0, 40))], te]),
            chunked(Buffer.from(body), r),
          ]);
        case 'te-not-chunked-last':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, ['Transfer-Encoding', 'chunked, gzip']]),
            Buffer.from(body),
          ]);
        case 'te-unknown':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [
              ...h,
              ['Transfer-Encoding', r.pick(['gzip', 'identity', 'xchunked', 'chunked\x00', 'chunk'])],
            ]),
            Buffer.from(body),
          ]);
        case 'te-twice':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te, te]),
            chunked(Buffer.from(body), r),
          ]);
        case 'cl-not-a-number':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [
              ...h,
              ['Content-Length', r.pick(['abc', '+5', '5 5', '0x10', '1e3', '', ' ', '5,5', '٣'])],
            ]),
            Buffer.from(body),
          ]);
        case 'cl-negative':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, ['Content-Length', `-${r.range(1, 99)}`]]),
            Buffer.from(body),
          ]);
        case 'cl-huge-number':
          return head(`POST ${path} HTTP/1.1`, [
            ...h,
            ['Content-Length', r.pick(['99999999999999999999', '18446744073709551616', '9007199254740993'])],
          ]);
        case 'chunk-size-bad':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te]),
            Buffer.from(`${r.pick(['zz', '-1', ' ', '0x5', 'g'])}\r\nhello\r\n0\r\n\r\n`),
          ]);
        case 'chunk-size-huge':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te]),
            Buffer.from(
              `${r.pick(['ffffffffffffffffff', '7fffffffffffffff', '10000000'])}\r\n${r.text(64)}\r\n`,
            ),
          ]);
        case 'chunk-ext-garbage':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te]),
            Buffer.from(
              `5;${r.pick(['\x00', '\x01', '"', '=;=', r.text(3000)])}\r\nhello\r\n0\r\n\r\n`,
              'latin1',
            ),
          ]);
        case 'chunk-no-crlf':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te]),
            Buffer.from(`5\r\nhelloXX0\r\n\r\n`),
          ]);
        case 'chunk-longer-than-size':
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h, te]),
            Buffer.from(`2\r\n${r.text(r.range(3, 100))}\r\n0\r\n\r\n`),
          ]);
        case 'body-longer-than-cl':
          // The rest is the next "request": garbage the parser refuses.
          return Buffer.concat([
            head(`POST ${path} HTTP/1.1`, [...h.filter((x) => x !== CLOSE), ['Content-Length', '2']]),
            Buffer.from(`{}${r.text(r.range(1, 3000))}\r\n\r\n`),
          ]);
        case 'get-with-body':
          return Buffer.concat([
            head(`GET /v1/accounts HTTP/1.1`, [...h, ['Content-Length', '5']]),
            Buffer.from('hello'),
          ]);
      }
    };
    // A huge but well-formed chunk size announces a body that may still come: the server may wait
    // for it (and counts it against the limit as it streams); the client then hangs up.
    if (variant === 'chunk-size-huge')
      return this.svcWith(
        `framing/${variant}`,
        build,
        { mayWait: true },
        { kind: 'stall', ms: 1000, then: 'end' },
      );
    return this.svcWith(`framing/${variant}`, build, {});
  }

  oversized(): Made {
    const r = this.rng;
    const variant = r.pick([
      'declared-no-body',
      'declared-some-body',
      'declared-full-body',
      'chunked-streamed',
    ] as const);
    const route = r.pick([
      { path: '/v1/auth/token', auth: [] as Header[] },
      { path: '/v1/auth/signin', auth: [] as Header[] },
      { path: `/v1/accounts/${this.ctx.account}/token/rejected`, auth: [bearer(this.ctx.clientSecret)] },
      { path: '/v1/admin/login', auth: [bearer(this.ctx.adminToken)] },
      { path: '/v1/admin/clients', auth: [bearer(this.ctx.adminToken)] },
    ]);
    const size = r.range(BODY_LIMIT + 1, BODY_LIMIT * 2);
    const body = Buffer.from(`{"access_token":"${'a'.repeat(size)}"}`);
    return this.svcWith(
      `oversized/${variant}`,
      (t) => {
        const h: Header[] = [...this.okHost(t), ...route.auth, JSON_TYPE];
        switch (variant) {
          case 'declared-no-body':
            return head(`POST ${route.path} HTTP/1.1`, [
              ...h,
              ['Content-Length', String(r.range(BODY_LIMIT + 1, 50_000_000))],
            ]);
          case 'declared-some-body':
            return [
              head(`POST ${route.path} HTTP/1.1`, [...h, ['Content-Length', String(body.length)]]),
              body.subarray(0, r.range(1, 4096)),
            ];
          case 'declared-full-body':
            return [
              head(`POST ${route.path} HTTP/1.1`, [...h, ['Content-Length', String(body.length)]]),
              body,
            ];
          case 'chunked-streamed':
            return [
              head(`POST ${route.path} HTTP/1.1`, [...h, ['Transfer-Encoding', 'chunked']]),
              chunked(body, r),
            ];
        }
      },
      // The answer can be lost when the server closes with our unread bytes still in flight (a
      // reset), so an answer is not owed; when one comes it must be the 413.
      { statuses: [413], codes: ['body_too_large'] },
      variant === 'declared-no-body' || variant === 'declared-some-body'
        ? { kind: 'stall', ms: 3000, then: 'abort' }
        : WAIT,
    );
  }

  partial(): Made {
    const r = this.rng;
    const auth = r.pick(['none', 'client', 'admin', 'wrong'] as const);
    const route = r.pick([
      '/v1/auth/token',
      '/v1/auth/signin',
      `/v1/accounts/${this.ctx.account}/token/rejected`,
      '/v1/admin/logout',
      '/v1/admin/clients',
      '/v1/client-requests',
    ]);
    const how = r.pick(['abort', 'stall-abort', 'stall-end', 'chunked-stall-end'] as const);
    const full = Buffer.from(
      JSON.stringify({
        access_token: r.text(r.range(10, 3000)),
        grant_type: 'nope',
        account: `x${r.text(5)}`,
      }),
    );
    const sent = r.range(0, full.length - 1);
    const credential: Header[] =
      auth === 'client'
        ? [bearer(this.ctx.clientSecret)]
        : auth === 'admin'
          ? [bearer(this.ctx.adminToken)]
          : auth === 'wrong'
            ? [bearer(this.wrongSecret())]
            : [];
    return this.svcWith(
      `partial/${how}`,
      (t) => {
        const h: Header[] = [...this.okHost(t), ...credential, JSON_TYPE];
        if (how === 'chunked-stall-end')
          return [
            head(`POST ${route} HTTP/1.1`, [...h, ['Transfer-Encoding', 'chunked']]),
            Buffer.from(`${sent.toString(16)}\r\n`),
            full.subarray(0, sent),
          ];
        return [
          head(`POST ${route} HTTP/1.1`, [...h, ['Content-Length', String(full.length)]]),
          full.subarray(0, sent),
        ];
      },
      { mayWait: true },
      how === 'abort'
        ? { kind: 'abort' }
        : { kind: 'stall', ms: r.range(100, 900), then: how === 'stall-abort' ? 'abort' : 'end' },
    );
  }

  randomJson(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    type Auth = 'none' | 'client' | 'admin' | 'wrong';
    const routes: { method: string; path: string; auth: Auth; kind: string }[] = [
      {
        method: 'POST',
        path: `/v1/accounts/${ctx.account}/token/rejected`,
        auth: r.pick(['client', 'admin', 'client', 'none', 'wrong']),
        kind: 'rejected',
      },
      {
        method: 'POST',
        path: `/v1/accounts/${this.randomAccount()}/token/rejected`,
        auth: r.pick(['client', 'admin']),
        kind: 'rejected-other',
      },
      {
        method: 'POST',
        path: '/v1/auth/token',
        auth: r.pick(['none', 'client', 'wrong']),
        kind: 'compat-token',
      },
      {
        method: 'POST',
        path: '/v1/auth/signin',
        auth: r.pick(['none', 'client', 'wrong']),
        kind: 'compat-signin',
      },
      {
        method: 'POST',
        path: '/v1/admin/login',
        auth: r.pick(['admin', 'admin', 'client', 'none']),
        kind: 'login',
      },
      { method: 'POST', path: '/v1/admin/logout', auth: r.pick(['admin', 'admin', 'none']), kind: 'logout' },
      {
        method: 'POST',
        path: `/v1/accounts/${this.randomAccount()}/refresh`,
        auth: 'admin',
        kind: 'refresh',
      },
      {
        method: 'POST',
        path: '/v1/admin/clients',
        auth: r.pick(['admin', 'admin', 'client']),
        kind: 'add-client',
      },
      {
        method: 'DELETE',
        path: `/v1/admin/clients/${encodeURIComponent(this.randomClientName())}`,
        auth: 'admin',
        kind: 'revoke',
      },
      { method: 'POST', path: '/v1/client-requests', auth: 'none', kind: 'client-request' },
    ];
    const route = r.pick(routes);
    const shape = r.pick([
      'random-value',
      'template',
      'template',
      'deep',
      'huge-string',
      'broken-json',
      'form',
      'odd-unicode',
    ] as const);
    let body: string;
    let value: unknown;
    switch (shape) {
      case 'random-value':
        value = this.guard(route.kind, randomJsonValue(r, 0));
        body = JSON.stringify(value);
        break;
      case 'template':
        value = this.brokenTemplate(route.kind);
        body = JSON.stringify(value);
        break;
      case 'deep': {
        const depth = r.range(100, 20_000);
        const [open, close] = r.pick([
          ['[', ']'],
          ['{"a":', '}'],
        ] as const);
        body = r.chance(0.5) ? open.repeat(depth) + '1' + close.repeat(depth) : open.repeat(depth);
        if (body.length > BODY_LIMIT) body = body.slice(0, BODY_LIMIT);
        break;
      }
      case 'huge-string':
        value = this.brokenTemplate(route.kind);
        (value as Record<string, unknown>)[
          r.pick(['access_token', 'name', 'account', 'password', 'username', 'refresh_token', 'junk'])
        ] = r.text(r.range(1000, BODY_LIMIT - 200));
        value = this.guard(route.kind, value);
        body = JSON.stringify(value);
        break;
      case 'broken-json':
        body = r.pick([
          () => '{',
          () => '{"a":1,}',
          () => "{'a':1}",
          () => '{"a":NaN}',
          () => '\ufeff{"a":1}',
          () => '{"a":1} trailing',
          () => '{"a":"\\x41"}',
          () => '/* c */ {}',
          () => r.text(r.range(1, 500), PRINTABLE),
          () => Buffer.from(r.bytes(r.range(1, 500))).toString('latin1'),
          () => '{"a":"\ud800"}',
          () => '[]',
          () => '"just a string"',
          () => 'null',
          () => '12345678901234567890',
        ])();
        break;
      case 'form':
        body = r.pick([
          () =>
            `grant_type=${r.pick(['password', 'client_credentials', '', 'refresh_token%00'])}&refresh_token=${encodeURIComponent(this.wrongSecret())}`,
          () =>
            `username=${encodeURIComponent(r.text(10))}&password=${encodeURIComponent(this.wrongSecret())}`,
          () => `%zz=%zz&${r.text(5)}=${'%'.repeat(r.range(1, 50))}`,
          () => Array.from({ length: r.range(10, 3000) }, () => `${r.text(2)}=${r.text(2)}`).join('&'),
          () => `${r.text(r.range(1000, 30_000))}=1`,
          () => '&&&===&&&',
        ])();
        break;
      case 'odd-unicode':
        value = this.guard(route.kind, {
          [r.pick(['name', 'account', 'username', 'access_token', 'password'])]: r.pick([
            '\u0000',
            '\u202e',
            '\ud83d\ude00'.repeat(100),
            '\uffff',
            'Ａ',
            '\u0301'.repeat(50),
          ]),
        });
        body = JSON.stringify(value);
        break;
    }
    const contentType = r.pick<Header | undefined>([
      JSON_TYPE,
      JSON_TYPE,
      JSON_TYPE,
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Content-Type', 'APPLICATION/JSON'],
      ['Content-Type', 'application/json; charset=utf-16'],
      FORM_TYPE,
      ['Content-Type', 'text/plain'],
      ['Content-Type', 'multipart/form-data; boundary=x'],
      ['Content-Type', 'application/jsonx'],
      undefined,
    ]);
    const credential: Header[] =
      route.auth === 'client'
        ? [bearer(ctx.clientSecret)]
        : route.auth === 'admin'
          ? [bearer(ctx.adminToken)]
          : route.auth === 'wrong'
            ? [bearer(this.wrongSecret())]
            : [];
    const unsafe = this.couldSucceed(route.kind, route.auth, body, contentType?.[1]);
    if (unsafe)
      throw new Error(
        `generator bug: a random-json case could be served (${route.kind}): ${body.slice(0, 200)}`,
      );
    const chunkedBody = r.chance(0.1);
    return this.svcWith(
      `random-json/${route.kind}/${shape}`,
      (t) => {
        const h: Header[] = [
          ...this.okHost(t),
          ...credential,
          ...(contentType ? [contentType] : []),
          ...(r.chance(0.8) ? [CLOSE] : []),
        ];
        const payload = Buffer.from(body, shape === 'broken-json' ? 'latin1' : 'utf8');
        if (chunkedBody)
          return Buffer.concat([
            head(`${route.method} ${route.path} HTTP/1.1`, [...h, ['Transfer-Encoding', 'chunked']]),
            chunked(payload, r),
          ]);
        return request(route.method, route.path, h, payload);
      },
      { mustAnswer: true },
    );
  }

  private randomClientName(): string {
    let name = this.rng.pick([
      () => this.rng.text(this.rng.range(1, 30)),
      () => `c-${this.rng.text(4)}`,
      () => this.rng.text(200),
      () => '../x',
    ])();
    while (this.ctx.clientNames.includes(name)) name = `${name}x`;
    return name;
  }

  /** A route's valid body with at least one thing wrong. */
  private brokenTemplate(kind: string): Record<string, unknown> {
    const r = this.rng;
    const wrongTypes = [123, -1, 0, true, false, null, [], {}, [1, 2], { a: 1 }, '', 1e308];
    const base: Record<string, unknown> = (() => {
      switch (kind) {
        case 'rejected':
        case 'rejected-other':
          return { access_token: 'at.x' };
        case 'compat-token':
          return { grant_type: 'refresh_token', refresh_token: this.ctx.clientSecret, client_id: r.text(16) };
        case 'compat-signin':
          return { username: this.ctx.username, password: this.ctx.clientSecret, client_id: r.text(16) };
        case 'login':
          return {
            account: `a${r.text(5)}`,
            username: `${r.text(6)}@example.invalid`,
            password: r.text(12),
            platform: r.pick(['android', 'web', 'pc']),
          };
        case 'logout':
          return { account: this.randomAccount() };
        case 'add-client':
          return { name: `c${r.text(6)}`, accounts: [this.ctx.account] };
        case 'client-request':
          return { name: `c${r.text(6)}`, account: this.randomAccount() };
        default:
          return { junk: r.text(4) };
      }
    })();
    const keys = Object.keys(base);
    const breakers = r.range(1, Math.max(1, keys.length));
    for (let i = 0; i < breakers; i++) {
      const key = r.pick(keys);
      if (r.chance(0.3)) delete base[key];
      else base[key] = r.pick(wrongTypes);
    }
    if (r.chance(0.3)) base[r.text(r.range(1, 20))] = randomJsonValue(r, 2);
    return this.guard(kind, base) as Record<string, unknown>;
  }

  /** Makes sure a body cannot be served, whatever credential comes with it. */
  private guard(kind: string, value: unknown): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const v = { ...(value as Record<string, unknown>) };
    switch (kind) {
      case 'rejected':
        if (typeof v.access_token === 'string' && v.access_token !== '') v.access_token = 42;
        break;
      case 'compat-token':
        if (v.grant_type === 'refresh_token') v.grant_type = 'password';
        break;
      case 'compat-signin':
        if (typeof v.username === 'string' || v.username === undefined)
          v.username = `nobody-${this.rng.text(8)}@example.invalid`;
        if (v.password === this.ctx.clientSecret && this.rng.chance(0.5)) v.password = this.wrongSecret();
        break;
      case 'login':
        if (loginBodyValid(v)) v.platform = 'ios';
        break;
      case 'logout':
        if (v.account === this.ctx.account) v.account = `${this.ctx.account}x`;
        break;
      case 'add-client':
        if (addClientBodyValid(v)) v.accounts = [];
        break;
      case 'client-request':
        if (v.account === this.ctx.account) v.account = `${this.ctx.account}x`;
        break;
    }
    return v;
  }

  /**
   * Whether a random-json request could be served (2xx), read the way the service reads it.
   * Deliberately pessimistic: any doubt counts as "could".
   */
  private couldSucceed(kind: string, auth: string, body: string, contentType: string | undefined): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const obj =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : undefined;
    const form = Object.fromEntries(new URLSearchParams(body));
    const fields = [obj ?? {}, form];
    const authed = auth === 'client' || auth === 'admin';
    switch (kind) {
      case 'rejected':
        return authed && fields.some((f) => typeof f.access_token === 'string' && f.access_token !== '');
      case 'rejected-other':
      case 'refresh':
      case 'revoke':
        return false; // accounts and clients that do not exist
      case 'compat-token':
      case 'compat-signin': {
        // pikpak-compat.ts: the body's credential wins, else the bearer; `<secret>` or `<secret>.<account>`.
        const secret = this.ctx.clientSecret;
        const bearerValue = auth === 'client' ? secret : undefined;
        const field = kind === 'compat-token' ? 'refresh_token' : 'password';
        return fields.some((f) => {
          if (kind === 'compat-token' && f.grant_type !== 'refresh_token') return false;
          const value = f[field];
          const credential = typeof value === 'string' && value !== '' ? value : bearerValue;
          if (credential === undefined) return false;
          if (credential.startsWith(`${secret}.`)) return true; // names an account: assume it may be ours
          if (credential !== secret) return false;
          if (kind === 'compat-token') return true;
          const username = typeof f.username === 'string' ? f.username : '';
          return username.toLowerCase() === this.ctx.username.toLowerCase() || username === this.ctx.account;
        });
      }
      case 'login':
        return auth === 'admin' && fields.some(loginBodyValid);
      case 'logout':
        return auth === 'admin' && fields.some((f) => f.account === this.ctx.account);
      case 'add-client':
        return auth === 'admin' && fields.some(addClientBodyValid);
      case 'client-request':
        return fields.some((f) => f.account === this.ctx.account);
      default:
        return contentType === undefined;
    }
  }

  pathMethod(): Made {
    const r = this.rng;
    const method = r.chance(0.85) ? r.pick(METHODS) : r.pick(ODD_METHODS);
    let path = r.pick([
      () => `/v1/${r.text(r.range(1, 30))}`,
      () => `/v1/accounts/${this.randomAccount()}/token`,
      () => `/v1/accounts/${this.ctx.account}/${r.text(5)}`,
      () => `/v1/accounts/${this.ctx.account}/token/${r.pick(['', 'x', 'rejected/x'])}`,
      () => '//v1/health',
      () => '/v1/health/',
      () => '/V1/HEALTH',
      () => '/v1/./health',
      () => '/v1/../v1/health',
      () => `/v1/health#${r.text(3)}`,
      () => `/v1/${'a/'.repeat(r.range(10, 2000))}`,
      () => `/${encodeURIComponent(r.text(20, PRINTABLE))}`,
      () => `/v1/admin/clients/${encodeURIComponent(this.randomClientName())}`,
      () => '/v1/events',
      () => '/v1/status',
      () => '/v1/accounts',
      () => '/v1/client-requests/status',
      () => `http://localhost/v1/${r.text(4)}`,
      () => '*',
      () => `/v1/health?${r.text(r.range(1, 2000))}`,
    ])();
    // GET /v1/health is the one public answer; anything else unauthenticated is an error.
    if (method === 'GET' && path.split('?')[0] === '/v1/health')
      path = `/v1/healthz${path.slice('/v1/health'.length)}`;
    const credential: Header[] = r.chance(0.5) ? [] : [bearer(this.wrongSecret())];
    const withBody = method !== 'GET' && method !== 'HEAD' && r.chance(0.4);
    return this.svcWith(
      `path-method/${method === 'HEAD' ? 'head' : ODD_METHODS.includes(method) ? 'odd-method' : 'method'}`,
      (t) =>
        request(
          method,
          path,
          [...this.okHost(t), ...credential, CLOSE, ...(withBody ? [JSON_TYPE] : [])],
          withBody ? '{}' : undefined,
        ),
      { mustAnswer: true, head: method === 'HEAD' },
    );
  }

  badSecret(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    const calls: { method: string; path: string; body?: string; admin: boolean }[] = [
      { method: 'GET', path: '/v1/accounts', admin: false },
      { method: 'GET', path: `/v1/accounts/${ctx.account}/token`, admin: false },
      {
        method: 'POST',
        path: `/v1/accounts/${ctx.account}/token/rejected`,
        body: '{"access_token":"at.old"}',
        admin: false,
      },
      { method: 'GET', path: '/v1/events', admin: false },
      { method: 'GET', path: '/v1/status', admin: true },
      { method: 'GET', path: '/v1/admin/clients', admin: true },
      {
        method: 'POST',
        path: '/v1/admin/clients',
        body: JSON.stringify({ name: `evil${r.text(4)}`, accounts: ['*'] }),
        admin: true,
      },
      { method: 'DELETE', path: `/v1/admin/clients/${ctx.clientNames[0] ?? 'x'}`, admin: true },
      { method: 'POST', path: `/v1/accounts/${ctx.account}/refresh`, admin: true },
      {
        method: 'POST',
        path: '/v1/admin/logout',
        body: JSON.stringify({ account: ctx.account }),
        admin: true,
      },
      {
        method: 'POST',
        path: '/v1/admin/login',
        body: JSON.stringify({
          account: 'evil',
          username: 'evil@example.invalid',
          password: 'x',
          platform: 'android',
        }),
        admin: true,
      },
    ];
    const variant = r.pick([
      'wrong',
      'missing',
      'client-on-admin',
      'other-account',
      'compat-wrong',
      'compat-admin',
      'compat-scope',
    ] as const);
    const call = r.pick(calls);
    const headers = (t: Target, auth: Header[], ct = true): Header[] => [
      ...this.okHost(t),
      ...auth,
      ...(ct ? [JSON_TYPE] : []),
      CLOSE,
    ];
    switch (variant) {
      case 'wrong':
      case 'missing':
        return this.svcWith(
          `bad-secret/${variant}`,
          (t) => {
            // The compatible endpoints' surrogate refresh token is no bearer secret.
            const wrong = r.chance(0.1) ? `${ctx.clientSecret}.${ctx.account}` : this.wrongSecret();
            return request(
              call.method,
              call.path,
              headers(t, variant === 'wrong' ? [bearer(wrong)] : [], call.body !== undefined),
              call.body,
            );
          },
          { statuses: [401], codes: ['unauthorized'], mustAnswer: true },
        );
      case 'client-on-admin': {
        const adminCall = r.pick(calls.filter((c) => c.admin));
        return this.svcWith(
          'bad-secret/client-on-admin',
          (t) =>
            request(
              adminCall.method,
              adminCall.path,
              headers(t, [bearer(ctx.clientSecret)], adminCall.body !== undefined),
              adminCall.body,
            ),
          { statuses: [403], codes: ['forbidden'], mustAnswer: true },
        );
      }
      case 'other-account':
        return this.svcWith(
          'bad-secret/other-account',
          (t) =>
            request(
              'GET',
              `/v1/accounts/${this.randomAccount()}/token`,
              headers(t, [bearer(ctx.clientSecret)], false),
            ),
          { statuses: [400, 403, 404], codes: ['forbidden', 'bad_request', 'not_found'], mustAnswer: true },
        );
      case 'compat-wrong':
      case 'compat-admin':
      case 'compat-scope': {
        const secret =
          variant === 'compat-wrong'
            ? this.wrongSecret()
            : variant === 'compat-admin'
              ? ctx.adminToken
              : `${ctx.clientSecret}.${this.randomAccount()}`;
        const signin = r.chance(0.5);
        const fields: Record<string, string> = signin
          ? { username: ctx.username, password: secret }
          : { grant_type: 'refresh_token', refresh_token: secret };
        const form = r.chance(0.5);
        const body = form ? new URLSearchParams(fields).toString() : JSON.stringify(fields);
        return this.svcWith(
          `bad-secret/${variant}`,
          (t) =>
            request(
              'POST',
              signin ? '/v1/auth/signin' : '/v1/auth/token',
              [...this.okHost(t), form ? FORM_TYPE : JSON_TYPE, CLOSE],
              body,
            ),
          { statuses: [400], codes: ['invalid_grant'], mustAnswer: true },
        );
      }
    }
  }

  browser(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    // Requests that would be served (the real secret, valid bodies) but for the browser marks.
    const call = r.pick([
      {
        method: 'GET',
        path: `/v1/accounts/${ctx.account}/token`,
        auth: [bearer(ctx.clientSecret)] as Header[],
      },
      { method: 'GET', path: '/v1/accounts', auth: [bearer(ctx.clientSecret)] as Header[] },
      { method: 'GET', path: '/v1/health', auth: [] as Header[] },
      { method: 'GET', path: '/v1/status', auth: [bearer(ctx.adminToken)] as Header[] },
      { method: 'GET', path: '/v1/admin/clients', auth: [bearer(ctx.adminToken)] as Header[] },
      {
        method: 'POST',
        path: '/v1/auth/token',
        auth: [FORM_TYPE] as Header[],
        body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(ctx.clientSecret)}`,
      },
      {
        method: 'POST',
        path: '/v1/auth/signin',
        auth: [JSON_TYPE] as Header[],
        body: JSON.stringify({ username: ctx.username, password: ctx.clientSecret }),
      },
      {
        method: 'POST',
        path: '/v1/client-requests',
        auth: [JSON_TYPE] as Header[],
        body: JSON.stringify({ name: `web${r.text(5)}`, account: ctx.account }),
      },
    ]);
    const variant = r.pick([
      'origin',
      'sec-fetch',
      'origin-and-sec-fetch',
      'rebinding-host',
      'rebinding-with-origin',
      'origin-after-many-headers',
    ] as const);
    const origin = (): Header => [
      r.pick(['Origin', 'origin', 'ORIGIN']),
      r.pick([
        'http://evil.example',
        'https://evil.example:8443',
        'null',
        'http://localhost',
        'http://127.0.0.1:3000',
        'file://',
        `http://${r.text(8)}.example`,
      ]),
    ];
    const secFetch = (): Header => [
      `${r.pick(['Sec-Fetch-', 'sec-fetch-', 'SEC-FETCH-'])}${r.pick(['Site', 'Mode', 'Dest', 'User'])}`,
      r.pick([
        'cross-site',
        'same-origin',
        'same-site',
        'none',
        'cors',
        'no-cors',
        'navigate',
        'document',
        'empty',
        '?1',
      ]),
    ];
    const evilHost = (): string =>
      r.pick([
        'evil.example',
        'evil.example:80',
        `${r.text(6)}.example:${r.range(1, 65535)}`,
        '127.0.0.1.nip.io',
        'localhost.evil',
        'localhost.',
        '0x7f.0.0.1',
        '2130706433',
        '0177.0.0.1',
        '[::ffff:127.0.0.1]',
        '[::]',
        '0.0.0.0',
        '127.0.0.1.',
        '127.1',
        '[::2]',
        'LOCALHOST.EVIL.EXAMPLE',
        '/tmp/some-other.sock',
      ]);
    let expect: Expectation;
    const build = (t: Target): Buffer => {
      let extra: Header[];
      let host = this.okHost(t);
      switch (variant) {
        case 'origin':
          extra = [origin()];
          expect = { statuses: [403], codes: ['browser_request_refused'], mustAnswer: true };
          break;
        case 'sec-fetch':
          extra = Array.from({ length: r.range(1, 4) }, secFetch);
          expect = { statuses: [403], codes: ['browser_request_refused'], mustAnswer: true };
          break;
        case 'origin-and-sec-fetch':
          extra = [secFetch(), origin(), secFetch()];
          expect = { statuses: [403], codes: ['browser_request_refused'], mustAnswer: true };
          break;
        case 'rebinding-host':
          host = [['Host', evilHost()]];
          extra = [];
          expect = { statuses: [403], codes: ['host_not_allowed'], mustAnswer: true };
          break;
        case 'rebinding-with-origin':
          host = [['Host', evilHost()]];
          extra = [origin(), secFetch()];
          expect = {
            statuses: [403],
            codes: ['browser_request_refused', 'host_not_allowed'],
            mustAnswer: true,
          };
          break;
        case 'origin-after-many-headers':
          // A page can add custom headers before the browser's own: the marks must not slip past a header-count limit.
          extra = [
            ...Array.from({ length: r.range(100, 300) }, (_, i): Header => [`X-Pad-${i}`, '1']),
            r.chance(0.5) ? origin() : secFetch(),
          ];
          expect = { statuses: [403], codes: ['browser_request_refused'], mustAnswer: true };
          break;
      }
      return request(call.method, call.path, [...host, ...call.auth, ...extra, CLOSE], call.body);
    };
    const made = this.svcWith(`browser/${variant}`, build, {});
    return { ...made, expect: expect! };
  }

  // ── the bridge ──

  private bridge(
    variant: string,
    writes: Buffer | Buffer[],
    expect: Expectation,
    extra: Partial<Made> = {},
  ): Made {
    return {
      variant,
      target: 'bridge',
      judgeAs: 'bridge',
      writes: Array.isArray(writes) ? writes : [writes],
      finish: WAIT,
      expect,
      ...extra,
    };
  }

  /** The proxy credentials every bridge case but the unauthenticated ones carries. */
  private get proxyAuth(): Header {
    return ['Proxy-Authorization', proxyAuthorization(this.ctx.proxySecret)];
  }

  /** A tunnel or intercepted connection opened with the proxy credentials. */
  private via(connect: string, rest: Omit<Via, 'connect' | 'proxyAuthorization'> = {}): Via {
    return { connect, proxyAuthorization: proxyAuthorization(this.ctx.proxySecret), ...rest };
  }

  bridgeUnauthenticated(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    const credentials = r.pick<() => Header[]>([
      () => [],
      () => [['Proxy-Authorization', '']],
      () => [['Proxy-Authorization', proxyAuthorization(this.wrongSecret())]],
      () => [['Proxy-Authorization', proxyAuthorization(ctx.revokedSecret)]],
      () => [['Proxy-Authorization', proxyAuthorization(ctx.adminToken)]],
      () => [['Proxy-Authorization', proxyAuthorization(flipOne(ctx.proxySecret, r))]],
      () => [['Proxy-Authorization', proxyAuthorization('', ctx.proxySecret)]], // the secret as user name
      () => [['Proxy-Authorization', `Basic ${Buffer.from(ctx.proxySecret).toString('base64')}`]], // no colon
      () => [['Proxy-Authorization', `Bearer ${ctx.proxySecret}`]],
      () => [['Proxy-Authorization', `Digest username="alist", response="${r.text(32)}"`]],
      () => [['Proxy-Authorization', `Basic ${r.text(r.range(1, 60), B64URL)}`]],
      () => [['Authorization', proxyAuthorization(ctx.proxySecret)]], // the origin's header, not the proxy's
    ])();
    const target = r.pick([
      () => `CONNECT ${r.pick(INTERCEPTED)}:443 HTTP/1.1`,
      () => 'CONNECT api-drive.mypikpak.net:443 HTTP/1.1',
      () => `CONNECT 127.0.0.1:${ctx.bridgePort} HTTP/1.1`,
      () => `CONNECT 127.0.0.1:${ctx.servicePort} HTTP/1.1`,
      () => `CONNECT localhost:${ctx.closedPort} HTTP/1.1`,
      () => `CONNECT ${r.text(8)} HTTP/1.1`,
      () => `GET http://${r.pick(INTERCEPTED)}/v1/auth/token HTTP/1.1`,
      () => `POST http://${r.pick(INTERCEPTED)}/v1/auth/signin HTTP/1.1`,
      () => `GET http://127.0.0.1:${ctx.servicePort}/v1/health HTTP/1.1`,
      () => `GET http://localhost:${ctx.closedPort}/${r.text(6)} HTTP/1.1`,
    ])();
    return this.bridge(
      `unauthenticated/${target.split(' ')[0]!.toLowerCase()}`,
      head(target, [['Host', 'x'], ...credentials, CLOSE]),
      { statuses: [407], mustAnswer: true },
    );
  }

  bridgeBadConnect(): Made {
    const r = this.rng;
    // Loopback names only: a target wrongly accepted must not make the bridge dial out.
    const host = r.pick(['127.0.0.1', 'localhost', 'LOCALHOST', `127.0.0.${r.range(2, 254)}`]);
    const target = r.pick([
      () => host,
      () => `${host}:`,
      () => `${host}:0`,
      () =>
        `${host}:${r.pick(['65536', '99999', '-1', '+443', ' 443', '0x1bb', '443a', '4 43', '00000443000'])}`,
      () => `:${r.range(1, 65535)}`,
      () => `${r.text(r.range(1, 10), '!#$%&*+,;=@^`{|}~')}:443`,
      () => `${r.text(300)}:443`,
      () => `${host}..:443`,
      () => '..:443',
      () => `user@${host}:443`,
      () => `${host}:443/path`,
      () => `https://${host}:443`,
      () => `//${host}:443`,
      () => `${host}\x00:443`,
      () => `[::1]`,
      () => `[::1:443`,
      () => `::1:443`,
      () => `[zz::1]:443`,
      () => `[fe80::1%25eth0]:443`,
      () => `[1::2::3]:443`,
      () => `[]:443`,
      () => `[::1]:443:1`,
      () => `[::1]]:443`,
      () => `[${r.text(8, '0123456789abcdef:')}:::::]:443`,
      () => `${host}:443:443`,
      () => '*',
      () => '',
    ])();
    const version = r.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x']);
    const method = r.pick(['CONNECT', 'CONNECT', 'CONNECT', 'connect', 'CONNEKT']);
    const headers: Header[] = r.chance(0.5) ? [['Host', target.replace(/[\r\n]/g, '')]] : [];
    headers.push(r.chance(0.2) ? ['Proxy-Authorization', `Basic ${r.text(20, B64URL)}`] : this.proxyAuth);
    return this.bridge(
      `bad-connect/${method === 'CONNECT' ? 'target' : 'method'}`,
      head(`${method} ${target} ${version}`, headers),
      {},
    );
  }

  bridgeTunnelLoopback(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    const variant = r.pick(['closed-port', 'closed-port', 'itself', 'token-service'] as const);
    switch (variant) {
      case 'closed-port':
        return this.bridge(
          'tunnel-loopback/closed-port',
          head(
            `CONNECT ${r.pick(['127.0.0.1', 'localhost', `127.0.0.${r.range(2, 254)}`, '[::1]'])}:${ctx.closedPort} HTTP/1.1`,
            [this.proxyAuth],
          ),
          { gateway: true, statuses: [502, 504], mustAnswer: true },
        );
      case 'itself':
        // A tunnel into the bridge itself: the inner bridge refuses what comes next.
        return this.bridge(
          'tunnel-loopback/itself',
          r.pick([
            () => Buffer.from(`garbage ${r.text(10)}\r\n\r\n`),
            () => head(`CONNECT ${r.pick(['foo', ':1', 'host:0'])} HTTP/1.1`, [this.proxyAuth]),
            () => head('GET / HTTP/1.1', [['Host', '127.0.0.1']]),
          ])(),
          { statuses: [400], mustAnswer: true },
          { via: this.via(`127.0.0.1:${ctx.bridgePort}`) },
        );
      case 'token-service':
        // Through the bridge into the token service: the service's own rules still apply.
        return {
          ...this.bridge(
            'tunnel-loopback/token-service',
            request('GET', `/v1/accounts/${ctx.account}/token`, [
              ['Host', '127.0.0.1'],
              ...(r.chance(0.5) ? [bearer(this.wrongSecret())] : []),
              CLOSE,
            ]),
            { statuses: [401], codes: ['unauthorized'], mustAnswer: true },
            { via: this.via(`127.0.0.1:${ctx.servicePort}`) },
          ),
          judgeAs: 'service',
        };
    }
  }

  bridgePlain(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    const tokenPath = r.pick(['/v1/auth/token', '/v1/auth/signin', '/V1//auth/token/', '/v1/auth/%74oken']);
    const variant = r.pick([
      'origin-form',
      'absolute-https',
      'absolute-odd-scheme',
      'absolute-no-host',
      'absolute-intercepted-get',
      'absolute-intercepted-post',
      'absolute-closed-port',
      'garbage',
      'tls-without-connect',
      'huge-head',
      'many-headers',
      'bad-version',
      'browser-style',
    ] as const);
    const h = (extra: Header[] = []): Header[] => [
      ['Host', r.pick(['127.0.0.1', 'localhost', 'evil.example'])],
      this.proxyAuth,
      ...extra,
      CLOSE,
    ];
    switch (variant) {
      case 'origin-form':
        return this.bridge(
          'plain/origin-form',
          request(
            r.pick(METHODS.filter((m) => m !== 'HEAD')),
            r.pick(['/', tokenPath, '/v1/health', `/${r.text(10)}`]),
            h(),
          ),
          { statuses: [400], mustAnswer: true },
        );
      case 'browser-style':
        // A page whose DNS name was rebound to the bridge's port sends origin-form requests.
        return this.bridge(
          'plain/browser-style',
          request('GET', r.pick(['/', tokenPath]), [
            ['Host', `evil.example:${ctx.bridgePort}`],
            ['Origin', 'http://evil.example'],
            ['Sec-Fetch-Mode', 'cors'],
            CLOSE,
          ]),
          { statuses: [400, 403], mustAnswer: true },
        );
      case 'absolute-https':
        return this.bridge(
          'plain/absolute-https',
          request('GET', `https://${r.pick(INTERCEPTED)}${tokenPath}`, h()),
          { statuses: [400], mustAnswer: true },
        );
      case 'absolute-odd-scheme':
        return this.bridge(
          'plain/absolute-odd-scheme',
          request(
            'GET',
            r.pick([
              `ftp://127.0.0.1:${ctx.closedPort}/`,
              'file:///etc/passwd',
              'gopher://127.0.0.1/',
              'javascript:alert(1)',
              'ws://127.0.0.1/',
            ]),
            h(),
          ),
          { statuses: [400], mustAnswer: true },
        );
      case 'absolute-no-host':
        return this.bridge(
          'plain/absolute-no-host',
          request('GET', r.pick(['http://', 'http://:80/', 'http://[/', 'http://[::1/']), h()),
          {
            statuses: [400],
          },
        );
      case 'absolute-intercepted-get': {
        const url = `http://${r.pick(INTERCEPTED)}${tokenPath}`;
        return this.bridge(
          'plain/absolute-intercepted-get',
          request(r.pick(['GET', 'PUT', 'DELETE']), url, h()),
          tokenPathExpect(url, { statuses: [405], codes: ['method_not_allowed'], mustAnswer: true }),
        );
      }
      case 'absolute-intercepted-post': {
        const url = `http://${r.pick([...INTERCEPTED, 'USER.MYPIKPAK.NET', 'user.mypikpak.com.'])}${tokenPath}${r.chance(0.3) ? `?client_id=${r.text(8)}` : ''}`;
        assertNotForwarded(url);
        const body = r.pick([
          () => JSON.stringify(randomJsonValue(r, 0)),
          () => `grant_type=refresh_token&refresh_token=${encodeURIComponent(this.wrongSecret())}`,
          () => JSON.stringify({ username: ctx.username, password: this.wrongSecret() }),
          () => r.text(r.range(1, 400), PRINTABLE),
        ])();
        return this.bridge(
          'plain/absolute-intercepted-post',
          request('POST', url, h([r.pick([JSON_TYPE, FORM_TYPE, ['Content-Type', 'text/plain']])]), body),
          tokenPathExpect(url, { statuses: [400, 413], mustAnswer: true }),
        );
      }
      case 'absolute-closed-port':
        return this.bridge(
          'plain/absolute-closed-port',
          request(
            r.pick(['GET', 'POST', 'DELETE']),
            `http://${r.pick(['127.0.0.1', 'localhost', '[::1]'])}:${ctx.closedPort}/${r.text(6)}`,
            h(),
          ),
          { gateway: true, statuses: [502, 504], mustAnswer: true },
        );
      case 'garbage':
        return this.bridge(
          'plain/garbage',
          Buffer.concat([r.bytes(r.range(1, 3000)), Buffer.from('\r\n\r\n')]),
          {},
        );
      case 'tls-without-connect':
        return this.bridge(
          'plain/tls-without-connect',
          Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]), r.bytes(r.range(10, 400))]),
          {},
        );
      case 'huge-head':
        return this.bridge(
          'plain/huge-head',
          head(`CONNECT ${r.pick(INTERCEPTED)}:443 HTTP/1.1`, [
            this.proxyAuth,
            ['X-Big', r.text(r.range(17 * 1024, 40 * 1024))],
          ]),
          {
            statuses: [400, 431],
          },
        );
      case 'many-headers':
        return this.bridge(
          'plain/many-headers',
          head(`CONNECT 127.0.0.1:${ctx.closedPort} HTTP/1.1`, [
            this.proxyAuth,
            ...Array.from({ length: r.range(2100, 3000) }, (_, i): Header => [`X${i}`, '1']),
          ]),
          { statuses: [400, 431, 502, 504], gateway: true },
        );
      case 'bad-version':
        // llhttp takes 0.9 and 2.0 too: then the forward to the closed port fails (502).
        return this.bridge(
          'plain/bad-version',
          head(
            `GET http://127.0.0.1:${ctx.closedPort}/ ${r.pick(['HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'XTTP/1.1'])}`,
            h(),
          ),
          {
            statuses: [400, 502, 505],
            gateway: true,
          },
        );
    }
  }

  bridgeTlsGarbage(): Made {
    const r = this.rng;
    const connect = `${r.pick([...INTERCEPTED, 'USER.MYPIKPAK.NET', 'user.mypikpak.com.'])}:443`;
    const garbage = r.pick([
      () => r.bytes(r.range(1, 4000)),
      () => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), r.bytes(r.range(5, 500))]),
      () => Buffer.from([0x16, 0x03, 0x03, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
      () => Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), r.bytes(32)]),
      () => Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
      () => Buffer.from('GET /v1/auth/token HTTP/1.1\r\nHost: user.mypikpak.net\r\n\r\n'),
      () => Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), // SSLv2-style hello
    ])();
    const optimistic = r.chance(0.3);
    return {
      variant: `tls-garbage/${optimistic ? 'with-connect' : 'after-connect'}`,
      target: 'bridge',
      judgeAs: 'bridge',
      via: optimistic ? this.via(connect, { withConnect: garbage }) : this.via(connect),
      writes: optimistic ? [] : [garbage],
      // A record header can announce more bytes than come: then the bridge waits, as TLS must.
      finish: { kind: 'stall', ms: 500, then: 'end' },
      // After the 200, the bridge speaks TLS or nothing: it closes (maybe after an alert).
      expect: { tls: true },
    };
  }

  bridgeInsideTls(): Made {
    const r = this.rng;
    const ctx = this.ctx;
    const host = r.pick([...INTERCEPTED, 'USER.MYPIKPAK.NET']);
    const servername = r.pick([
      host.toLowerCase(),
      host.toLowerCase(),
      'evil.example',
      'api-drive.mypikpak.net',
      '',
    ]);
    const paths = [
      '/v1/auth/token',
      '/v1/auth/signin',
      '/V1//auth/token/',
      '/v1/auth/%74oken',
      '/v1/auth/signin?client_id=x',
      `//${r.text(5)}/v1/auth/token`,
    ];
    const path = r.pick(paths);
    const variant = r.pick([
      'wrong-method',
      'random-body',
      'wrong-secret',
      'oversized',
      'partial',
      'malformed',
      'nested-connect',
      'invalid-target',
      'expect',
    ] as const);
    const hh = (extra: Header[] = []): Header[] => [
      ['Host', host.toLowerCase()],
      ...extra,
      ...(r.chance(0.7) ? [CLOSE] : []),
    ];
    let writes: Buffer[];
    let expect: Expectation;
    let finish: Finish = WAIT;
    switch (variant) {
      case 'wrong-method':
        writes = [request(r.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path, hh())];
        expect = tokenPathExpect(path, { statuses: [405], codes: ['method_not_allowed'], mustAnswer: true });
        break;
      case 'random-body': {
        assertNotForwarded(path);
        const body = r.pick([
          () => JSON.stringify(randomJsonValue(r, 0)),
          () => JSON.stringify(this.guard('compat-token', this.brokenTemplate('compat-token'))),
          () => JSON.stringify(this.guard('compat-signin', this.brokenTemplate('compat-signin'))),
          () => Buffer.from(r.bytes(r.range(1, 2000))).toString('latin1'),
          () => '['.repeat(r.range(100, 10_000)),
          () => `%zz&${r.text(500)}=${'%'.repeat(30)}`,
        ])();
        const ct = r.pick<Header | undefined>([
          JSON_TYPE,
          FORM_TYPE,
          ['Content-Type', 'text/plain'],
          undefined,
        ]);
        if (
          this.couldSucceed(path.includes('signin') ? 'compat-signin' : 'compat-token', 'none', body, ct?.[1])
        )
          throw new Error('generator bug: an inside-TLS body could be served');
        writes = [request('POST', path, hh(ct ? [ct] : []), Buffer.from(body, 'latin1'))];
        expect = { statuses: [400, 404, 413], mustAnswer: true };
        break;
      }
      case 'wrong-secret': {
        const signin = path.includes('signin');
        const fields = signin
          ? { username: ctx.username, password: this.wrongSecret() }
          : {
              grant_type: 'refresh_token',
              refresh_token: r.chance(0.3) ? ctx.adminToken : this.wrongSecret(),
            };
        writes = [request('POST', path, hh([JSON_TYPE]), JSON.stringify(fields))];
        expect = tokenPathExpect(path, { statuses: [400], codes: ['invalid_grant'], mustAnswer: true });
        break;
      }
      case 'oversized': {
        assertNotForwarded(path);
        const size = r.range(BODY_LIMIT + 1, BODY_LIMIT + 20_000);
        writes = r.chance(0.5)
          ? [head(`POST ${path} HTTP/1.1`, hh([JSON_TYPE, ['Content-Length', String(size)]]))]
          : [
              head(`POST ${path} HTTP/1.1`, hh([JSON_TYPE, ['Transfer-Encoding', 'chunked']])),
              chunked(Buffer.alloc(size, 0x61), r),
            ];
        expect = tokenPathExpect(path, { statuses: [413], mustAnswer: false });
        finish = { kind: 'stall', ms: 2000, then: 'abort' };
        break;
      }
      case 'partial':
        assertNotForwarded(path);
        writes = [
          head(`POST ${path} HTTP/1.1`, hh([JSON_TYPE, ['Content-Length', String(r.range(100, 5000))]])),
          Buffer.from('{"grant_type":'),
        ];
        expect = { mayWait: true };
        finish = { kind: 'stall', ms: r.range(100, 600), then: r.pick(['abort', 'end']) };
        break;
      case 'malformed':
        writes = [
          r.pick([
            () => Buffer.concat([r.bytes(r.range(1, 1000)), Buffer.from('\r\n\r\n')]),
            () => Buffer.from(`\x00\x01 not http\r\n\r\n`),
            () => head(`POST ${path} HTTP/9.9`, hh()),
            () =>
              head(`GET ${path} HTTP/1.1`, [
                ['Host', host],
                ['X-Big', r.text(20_000)],
              ]),
            () =>
              Buffer.from(
                `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}`,
              ),
          ])(),
        ];
        expect = { statuses: [400, 431] };
        break;
      case 'nested-connect':
        // CONNECT inside an intercepted connection: a tunnel the bridge must not open.
        writes = [
          head(
            `CONNECT ${r.pick([`127.0.0.1:${ctx.closedPort}`, `localhost:${ctx.closedPort}`, `${host}:443`])} HTTP/1.1`,
            [],
          ),
        ];
        expect = { statuses: [400], mustAnswer: true };
        break;
      case 'invalid-target':
        // Request targets llhttp lets through but no URL parser accepts: nothing to forward.
        writes = [
          request(
            r.pick(['GET', 'POST']),
            r.pick([
              'http://[/',
              'http://[::1/',
              'http://x:99999/v1/auth/token',
              'http://a:b:c/',
              'http://%zz/',
              'http://[:::1]/',
            ]),
            hh(),
          ),
        ];
        expect = { statuses: [400], mustAnswer: false };
        break;
      case 'expect':
        assertNotForwarded(path);
        writes = [
          request(
            'POST',
            path,
            hh([JSON_TYPE, ['Expect', r.pick(['100-continue', 'weird'])]]),
            '{"grant_type":"x"}',
          ),
        ];
        expect = { statuses: [400, 417], mustAnswer: true };
        break;
    }
    return {
      variant: `inside-tls/${variant}`,
      target: 'bridge',
      judgeAs: 'bridge',
      via: this.via(`${host}:443`, { tls: { servername } }),
      writes,
      finish,
      expect,
    };
  }

  // ── slow clients ──

  slow(): Omit<SlowCase, 'id'>[] {
    const ctx = this.ctx;
    const slowHead = (target: Target, judgeAs: 'service' | 'bridge', via?: Via): Omit<SlowCase, 'id'> => ({
      variant: `slow-headers/${target}${via?.tls ? '-tls' : ''}`,
      target,
      judgeAs,
      ...(via ? { via } : {}),
      prefix: Buffer.from(`GET /v1/accounts/${ctx.account}/token HTTP/1.1\r\nHost: localhost\r\nX-Slow: `),
      trickle: Buffer.from('a'.repeat(400)),
      intervalMs: 500,
      limit: 'headers',
    });
    const slowBody = (target: Target, path: string, auth: string): Omit<SlowCase, 'id'> => ({
      variant: `slow-body/${target}`,
      target,
      judgeAs: 'service',
      prefix: Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${auth}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"access_token":"`,
      ),
      trickle: Buffer.from('a'.repeat(900)),
      intervalMs: 1000,
      limit: 'request',
    });
    return [
      slowHead('socket', 'service'),
      slowHead('socket', 'service'),
      slowHead('tcp', 'service'),
      slowHead('tcp', 'service'),
      {
        ...slowHead('bridge', 'bridge'),
        prefix: Buffer.from('CONNECT user.mypikpak.net:443 HTTP/1.1\r\nX-Slow: '),
      },
      slowHead(
        'bridge',
        'bridge',
        this.via('user.mypikpak.net:443', { tls: { servername: 'user.mypikpak.net' } }),
      ),
      slowBody('socket', `/v1/accounts/${ctx.account}/token/rejected`, ctx.clientSecret),
      slowBody('tcp', '/v1/auth/token', ctx.clientSecret),
    ];
  }
}

/** The bridge answers this URL or path itself, or refuses it (a token path): it never goes upstream. */
function assertNotForwarded(target: string): void {
  if (classifyAuthPath(target) === 'forward')
    throw new Error(`generator bug: ${target} would be forwarded upstream`);
}

/**
 * What a token-path request gets: `answered` when the path is written exactly so, else the bridge's
 * 400 for a token path written another way (before its body is read).
 */
function tokenPathExpect(target: string, answered: Expectation): Expectation {
  assertNotForwarded(target);
  return classifyAuthPath(target) === 'answer'
    ? answered
    : { statuses: [400], mustAnswer: answered.mustAnswer ?? false };
}

/** One character changed. Always two draws, whatever the secret: the case sequence depends on the seed only. */
function flipOne(secret: string, rng: Rng): string {
  const at = rng.range(4, secret.length - 1);
  const others = B64URL.replace(secret[at]!, '');
  return secret.slice(0, at) + others[rng.int(others.length)]! + secret.slice(at + 1);
}

const KEYS = [
  'access_token',
  'refresh_token',
  'grant_type',
  'account',
  'accounts',
  'name',
  'username',
  'password',
  'platform',
  'client_id',
  'captcha_token',
  'device_id',
  '__proto__',
  'constructor',
  'toString',
  '',
];

/** A random JSON value: objects, arrays, strings (odd ones too), numbers, booleans, null. */
export function randomJsonValue(rng: Rng, depth: number): unknown {
  const leaf = depth > 4 || rng.chance(0.35);
  if (leaf)
    return rng.pick([
      () => rng.text(rng.range(0, 40), PRINTABLE),
      () => rng.range(-1e6, 1e6),
      () => rng.next() * 1e300,
      () => -0,
      () => Number.MAX_SAFE_INTEGER + 2,
      () => rng.chance(0.5),
      () => null,
      () => '\u0000\ud83d\ude00\u202e',
      () => rng.text(rng.range(100, 3000)),
    ])();
  if (rng.chance(0.5)) return Array.from({ length: rng.range(0, 6) }, () => randomJsonValue(rng, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = rng.range(0, 6); i > 0; i--)
    obj[rng.chance(0.6) ? rng.pick(KEYS) : rng.text(rng.range(1, 12))] = randomJsonValue(rng, depth + 1);
  return obj;
}

/** The admin login body the service accepts (admin-routes.ts loginSchema), as a predicate. */
function loginBodyValid(v: Record<string, unknown>): boolean {
  const s = (x: unknown): boolean => typeof x === 'string' && x.length > 0;
  return (
    s(v.account) &&
    s(v.username) &&
    s(v.password) &&
    (v.platform === 'android' || v.platform === 'web' || v.platform === 'pc') &&
    (v.remember_password === undefined || typeof v.remember_password === 'boolean') &&
    (v.device_id === undefined || s(v.device_id)) &&
    (v.captcha_token === undefined || s(v.captcha_token))
  );
}

function addClientBodyValid(v: Record<string, unknown>): boolean {
  return (
    typeof v.name === 'string' &&
    v.name.length > 0 &&
    Array.isArray(v.accounts) &&
    v.accounts.length > 0 &&
    v.accounts.every((a) => typeof a === 'string' && a.length > 0)
  );
}
