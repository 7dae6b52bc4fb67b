/**
 * Everything the emulated PikPak knows at run time: configuration, accounts and tokens, captcha
 * tokens and challenges, active faults and counters. Routes read and change it; stats() is a
 * copy, safe to keep.
 */
import { CaptchaAuthority } from './captcha.js';
import { FaultEngine } from './faults.js';
import { TokenAuthority } from './tokens.js';
import type { EmulatorConfig, EmulatorStats } from './types.js';

export type Counter = Exclude<keyof EmulatorStats, 'requests' | 'accounts'>;

export interface WorldDeps {
  config: EmulatorConfig;
  now: () => number;
  random: (bytes: number) => Buffer;
  log: (line: string) => void;
}

export class World {
  readonly config: EmulatorConfig;
  readonly now: () => number;
  readonly random: (bytes: number) => Buffer;
  readonly log: (line: string) => void;
  readonly tokens: TokenAuthority;
  readonly captcha: CaptchaAuthority;
  readonly faults: FaultEngine;
  readonly #counters: Record<Counter, number> = {
    signins: 0,
    signinFailures: 0,
    refreshes: 0,
    invalidGrants: 0,
    captchaInits: 0,
    rateLimited: 0,
    faultsInjected: 0,
  };
  readonly #requests: Record<string, number> = {};

  constructor(deps: WorldDeps) {
    this.config = { ...deps.config };
    this.now = deps.now;
    this.random = deps.random;
    this.log = deps.log;
    this.tokens = new TokenAuthority({
      now: deps.now,
      random: deps.random,
      accessTtlSeconds: () => this.config.accessTtlSeconds,
    });
    this.captcha = new CaptchaAuthority({ now: deps.now, random: deps.random });
    this.faults = new FaultEngine(deps.random);
  }

  count(counter: Counter, by = 1): void {
    this.#counters[counter] += by;
  }

  countRequest(endpoint: string): void {
    this.#requests[endpoint] = (this.#requests[endpoint] ?? 0) + 1;
  }

  configure(patch: Partial<EmulatorConfig>): EmulatorConfig {
    if (patch.accessTtlSeconds !== undefined) {
      if (!Number.isInteger(patch.accessTtlSeconds) || patch.accessTtlSeconds <= 0) {
        throw new Error('accessTtlSeconds must be a positive integer');
      }
      this.config.accessTtlSeconds = patch.accessTtlSeconds;
    }
    if (patch.requireCaptcha !== undefined) this.config.requireCaptcha = patch.requireCaptcha;
    if (patch.captchaChallenge !== undefined) this.config.captchaChallenge = patch.captchaChallenge;
    return { ...this.config };
  }

  stats(): EmulatorStats {
    return {
      ...this.#counters,
      requests: { ...this.#requests },
      accounts: this.tokens.accountStats(),
    };
  }
}
