/** The soak's report and its parts (JSON-ready; times in ms unless named otherwise). */
import type { FaultSpec } from '../emulator/types.js';

export type ConsumerKind = 'socket' | 'compat' | 'bridge';

export interface ConsumerResult {
  readonly name: string;
  readonly kind: ConsumerKind;
  /** `node` (in the soak's process) or `go` (e2e/alist-go, AList's token code paths). */
  readonly client: 'node' | 'go';
  /** How it gets and keeps tokens, in words. */
  readonly variant: string;
  /** Calls that asked the broker for a token (socket GET / rejected reports, PikPak-compatible refreshes, bridged token calls). */
  readonly tokenRequests: number;
  /** Those that got no token, by reason (`503 upstream_unavailable`, `timeout`, …). */
  readonly tokenFailures: Record<string, number>;
  /** Drive calls made with a broker token (the check that the token is valid). */
  readonly driveCalls: number;
  /** Drive calls PikPak rejected for the token (expired or unknown): normal for AList-style clients, which use a token until it is refused. */
  readonly driveRejected: number;
  /** A token the broker had just handed out, refused at its first use (should be rare: only a stall between hand-out and use explains one); null where it cannot be seen (Go clients). */
  readonly staleHandouts: number | null;
  /** Drive calls that failed otherwise (network, …); the drive API has no faults, so these are not expected. */
  readonly driveErrors: Record<string, number>;
  readonly validUses: number;
  readonly longestGapMs: number;
  /** When the longest gap began, in seconds after the load started. */
  readonly longestGapStartS: number;
  readonly gapsOver2s: number;
  /**
   * Times the client stopped by itself and was started again. A Go AList client whose Init fails
   * (e.g. the broker answered 503 during an outage) stops, as an AList storage stays failed until
   * reloaded; the soak reloads it after 1 s. Node consumers never stop: always 0.
   */
  readonly restarts: number;
  /** Anything else worth knowing (a Go client's first error, an early exit…). */
  readonly notes: string[];
}

export interface FaultMixEntry {
  readonly label: string;
  readonly spec: FaultSpec;
}

export interface RssSample {
  /** Seconds since the daemon started. */
  readonly t: number;
  readonly rssMb: number;
  readonly fds: number;
}

export interface BaselineResult {
  readonly account: string;
  readonly holders: number;
  /** How the holders behave, in words. */
  readonly model: string;
  readonly refreshes: number;
  readonly invalidGrants: number;
  /** Seconds after the load started when the first holder was locked out; null if none was. */
  readonly firstLockoutAfterS: number | null;
  readonly repastes: number;
  readonly transientFailures: Record<string, number>;
  readonly driveOk: number;
  /** Emulator: presentations of spent refresh tokens for the baseline's account. */
  readonly emulatorReuseAttempts: number;
}

export interface SoakReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly options: {
    readonly durationS: number;
    readonly seed: number;
    readonly consumers: number;
    readonly accessTtlSeconds: number;
    readonly bridgeClients: 'go' | 'node';
    readonly goUnavailableReason: string | null;
    readonly consumerPauseMs: readonly [number, number];
    readonly faults: readonly FaultMixEntry[];
  };
  readonly environment: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly go: string | null;
    /** Where the daemon kept the refresh token. */
    readonly keychain: string;
  };
  readonly timing: {
    readonly setupS: number;
    /** keyring, emulator, goBuild, login, daemon (start until listening), clients (secrets and CA). */
    readonly setupStepsS: Record<string, number>;
    readonly loadS: number;
    /** Faults start once every consumer has used one valid token (or after 20 s). */
    readonly faultsOnAfterS: number;
    readonly totalS: number;
  };
  readonly broker: {
    readonly account: string;
    /** Successful refreshes of the broker's account at the emulator during the load. */
    readonly rotations: number;
    readonly rotationsTotal: number;
    readonly signInsDuringRun: number;
    /** invalid_grant answers to the broker's account (must be 0). */
    readonly invalidGrants: number;
    /** `PikPak rejected the refresh token (invalid_grant)` lines in the daemon's log (must be 0 too). */
    readonly invalidGrantLogLines: number;
    /** Emulator: presentations of a spent or revoked refresh token for this account. */
    readonly reuseAttempts: number;
    /** Refresh tokens of this account presented more than once. */
    readonly tokensPresentedTwice: number;
    /** Every refresh token was issued by refreshing the one before it: one unbroken chain. */
    readonly lineageIsOneChain: boolean;
    readonly lineageLength: number;
    /** Upstream truth: the longest stretch of the load in which the account had no unexpired access token at the emulator. */
    readonly upstreamLongestUncoveredMs: number;
    readonly upstreamLongestUncoveredStartS: number;
    /** Refresh failures the daemon logged, by error code. */
    readonly refreshFailures: Record<string, number>;
    readonly retryEpisodes: number;
    readonly maxRetryAttempt: number;
  };
  readonly consumers: readonly ConsumerResult[];
  readonly totals: {
    readonly tokenRequests: number;
    readonly tokenRequestsByKind: Record<ConsumerKind, number>;
    readonly tokenFailuresByKind: Record<ConsumerKind, Record<string, number>>;
    readonly driveCalls: number;
    readonly validUses: number;
    readonly staleHandouts: number;
    readonly longestGapMs: number;
    readonly longestGapConsumer: string;
  };
  readonly faults: {
    /** Faults the emulator injected on /v1/auth/token (broker and baseline together), by kind. */
    readonly injected: Record<string, number>;
    readonly injectedTotal: number;
    readonly tokenCalls: number;
  };
  readonly daemon: {
    readonly pid: number;
    readonly rss: {
      readonly startMb: number;
      readonly peakMb: number;
      readonly endMb: number;
      /** Median RSS of the last third of the load over that of the first third. */
      readonly growth: number;
      readonly samples: readonly RssSample[];
    };
    readonly fds: { readonly start: number; readonly peak: number; readonly end: number };
    readonly cpuSeconds: number;
    readonly exitCode: number | null;
    readonly exitSignal: string | null;
    /** From SIGTERM to exit (the daemon lets a refresh in flight finish; SIGKILL after 20 s). */
    readonly stopS: number;
    /** The daemon's last log lines, when it did not exit 0. */
    readonly logTail: readonly string[];
    readonly logWarnings: Record<string, number>;
    readonly logErrors: Record<string, number>;
  };
  readonly baseline: BaselineResult;
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail: string }[];
}
