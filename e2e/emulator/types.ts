/**
 * Public types of the PikPak emulator (see server.ts for `startEmulator`).
 * Tests, benchmarks and demos import these; nothing here does I/O.
 */

export interface EmulatorAccount {
  username: string;
  password: string;
  /** PikPak's `sub`. Derived from the username when absent. */
  userId?: string;
}

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Only loopback makes sense for an emulator; default `127.0.0.1`. */
  host?: string;
  /** Also serve the same app over HTTPS with a generated certificate (see cert.ts). */
  https?: boolean | { port?: number };
  /** `expires_in` of issued access tokens; default 7200 (PikPak's). */
  accessTtlSeconds?: number;
  accounts?: EmulatorAccount[];
  /** Sign-in needs a captcha token issued for `POST:/v1/auth/signin`; default true. */
  requireCaptcha?: boolean;
  /** Captcha init for sign-in answers a challenge URL instead of a token; default false. */
  captchaChallenge?: boolean;
  /** Injectable wall clock (ms). Token expiry, captcha expiry and stats use it. */
  now?: () => number;
  /** Injectable randomness for tokens and fault probabilities; default crypto.randomBytes. */
  random?: (bytes: number) => Buffer;
  /** Request lines and events; never passwords or tokens (fingerprints only). */
  log?: (line: string) => void;
}

export interface EmulatorConfig {
  accessTtlSeconds: number;
  requireCaptcha: boolean;
  captchaChallenge: boolean;
}

/** The endpoints a fault can target. `*` matches all of them (never the admin API). */
export const FAULT_ENDPOINTS = ['captcha', 'signin', 'token', 'about', 'files', 'user', '*'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];
export type PikPakEndpoint = Exclude<FaultEndpoint, '*'>;

/**
 * When a fault strikes. `before`: the request never reaches the emulated PikPak (nothing
 * changes). `after`: PikPak handled it (a refresh token was rotated, a sign-in happened), then
 * the answer is lost, delayed or replaced — the crash / lost-answer window.
 */
export type FaultTiming = 'before' | 'after';

interface FaultCommon {
  endpoint: FaultEndpoint;
  /** Strike the next `count` matching requests, then disappear. Unlimited when absent. */
  count?: number;
  /** Strike each matching request with this probability (0..1), drawn from `random`. */
  probability?: number;
}

export type FaultSpec = FaultCommon &
  (
    | { kind: 'status'; status: number; body?: string; timing?: FaultTiming }
    | { kind: 'rate-limit' }
    | { kind: 'delay'; ms: number; timing?: FaultTiming }
    | { kind: 'drop'; timing?: FaultTiming }
    | { kind: 'garbage'; shape?: 'text' | 'json'; timing?: FaultTiming }
    | { kind: 'timeout'; timing?: FaultTiming }
  );

export type FaultKind = FaultSpec['kind'];

export interface RefreshTokenLineageEntry {
  /** SHA-256 fingerprint of the token (8 hex digits), never the token. */
  id: string;
  clientId: string;
  issuedAt: number;
  issuedBy: 'signin' | 'refresh';
  /** Fingerprint of the refresh token this one replaced (refresh only). */
  parent?: string;
  /** When it was spent on a successful refresh. */
  usedAt?: number;
  revokedAt?: number;
  /** How many times it was presented to /v1/auth/token (after client authentication). */
  presentations: number;
}

export interface EmulatorAccountStats {
  userId: string;
  refreshTokenLineage: RefreshTokenLineageEntry[];
  /** Presentations of a refresh token that was already spent or revoked. */
  reuseAttempts: number;
}

export interface EmulatorStats {
  signins: number;
  signinFailures: number;
  refreshes: number;
  invalidGrants: number;
  captchaInits: number;
  rateLimited: number;
  faultsInjected: number;
  /** Requests seen per endpoint (`captcha`, `signin`, `token`, `about`, `files`, `user`, `admin`, `other`). */
  requests: Record<string, number>;
  /** Keyed by username. */
  accounts: Record<string, EmulatorAccountStats>;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `https://127.0.0.1:PORT` when HTTPS was asked for. */
  readonly httpsUrl?: string;
  /** The CA certificate clients must trust for `httpsUrl` (and for PikPak's host names). */
  readonly caCertPem?: string;
  stats(): EmulatorStats;
  /** Adds a fault; faults stack up until they run out (`count`) or `clearFaults()`. */
  setFault(fault: FaultSpec): void;
  clearFaults(): void;
  configure(patch: Partial<EmulatorConfig>): void;
  /** Adds (or replaces, by username) an account; returns its user id. */
  addAccount(account: EmulatorAccount): string;
  close(): Promise<void>;
}
