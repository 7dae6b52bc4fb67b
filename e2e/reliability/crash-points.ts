/**
 * Where the crash-safety suite stops a refresh, and the adapters that stop it there. They wrap
 * the real settings file, PikPak client and keychain of a running daemon (crash-daemon.ts) and,
 * on the chosen refresh, print a marker line on stdout and hang, so the test can `kill -9` at
 * exactly that step. Stdout is a pipe: on Linux a pipe write is synchronous, so the marker has
 * left the process before the next line runs.
 *
 * The protocol on stdout (one line each):
 *   CRASHPOINT-ARM <step>   the run waits for a line on stdin before it goes on, so the test can
 *                           prepare the step (stop the keychain, hold PikPak's answer back);
 *   CRASHPOINT <step>       the run is at the step (and hangs there, or has started the real
 *                           call that the test holds back);
 *   CRASHPOINT-PERTURBED <why>  the keychain failed before the step (a slow Secret Service on a
 *                           loaded machine): the run no longer tests what it should (the keeper
 *                           keeps an unsaved token in memory and its intents change), so the test
 *                           discards it and runs the trial again.
 *
 * A refresh starts with its intent: the N-th refresh intent the settings file is asked to save is
 * refresh N (the keeper records one before every refresh call; a sign-in records none).
 */
import { createInterface } from 'node:readline';
import type {
  AuthProvider,
  BrokerSettings,
  RefreshIntent,
  SecretKind,
  SecretStore,
  SettingsStore,
  TokenGrant,
} from '../../main/core/ports.js';
import type { Secret } from '../../main/core/secret.js';

/** In the order a refresh passes them. */
export const CRASH_STEPS = [
  'before-upstream',
  'in-flight',
  'after-answer',
  'keychain-writing',
  'after-keychain-write',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

export const MARKER = 'CRASHPOINT';
export const ARM_MARKER = 'CRASHPOINT-ARM';
export const PERTURBED_MARKER = 'CRASHPOINT-PERTURBED';

export function isCrashStep(value: string): value is CrashStep {
  return (CRASH_STEPS as readonly string[]).includes(value);
}

export interface CrashPlanIo {
  /** Writes one marker line (synchronously). */
  say(line: string): void;
  /** Resolves with the next line the test sends. */
  nextLine(): Promise<string>;
}

/** Markers on stdout, go-ahead lines from stdin (read only while waiting, so stdin never holds the process open). */
export function processIo(): CrashPlanIo {
  return {
    say: (line) => void process.stdout.write(`${line}\n`),
    nextLine: () =>
      new Promise((resolve) => {
        const reader = createInterface({ input: process.stdin });
        reader.once('line', (line) => {
          reader.close();
          resolve(line);
        });
      }),
  };
}

/** Which refresh we are in, and what to do at each step of the one to crash. */
export class CrashPlan {
  readonly step: CrashStep;
  /** The refresh (1-based, counted from this process's start) to crash. */
  readonly refresh: number;
  readonly #io: CrashPlanIo;
  /** Refresh intents seen so far: refresh number of the one in progress. */
  #refreshes = 0;
  /** PikPak answered refresh number `#refreshes`. */
  #answered = false;
  readonly #seenIntents = new Set<string>();
  #marked = false;

  constructor(step: CrashStep, refresh: number, io: CrashPlanIo) {
    if (!Number.isInteger(refresh) || refresh < 1) throw new RangeError('refresh must be a positive integer');
    this.step = step;
    this.refresh = refresh;
    this.#io = io;
  }

  /** Called for every settings save: counts intents it has not seen yet. Returns true on the crash refresh's intent. */
  noteIntents(intents: readonly RefreshIntent[]): boolean {
    let started = false;
    for (const intent of intents) {
      const key = `${intent.tokenFingerprint}@${intent.startedAt}`;
      if (this.#seenIntents.has(key)) continue;
      this.#seenIntents.add(key);
      this.#refreshes += 1;
      this.#answered = false;
      if (this.#refreshes === this.refresh) started = true;
    }
    return started;
  }

  /** Whether refresh `this.refresh` is the one in progress. */
  get inCrashRefresh(): boolean {
    return this.#refreshes === this.refresh;
  }

  get answered(): boolean {
    return this.#answered;
  }

  markAnswered(): void {
    this.#answered = true;
  }

  /** Says `CRASHPOINT-ARM <step>` and waits for the test's go-ahead. */
  async arm(): Promise<void> {
    this.#io.say(`${ARM_MARKER} ${this.step}`);
    await this.#io.nextLine();
  }

  /** Says `CRASHPOINT <step>`. */
  mark(): void {
    this.#marked = true;
    this.#io.say(`${MARKER} ${this.step}`);
  }

  /** Says `CRASHPOINT-PERTURBED <why>`, unless the step was already reached. */
  perturbed(why: string): void {
    if (!this.#marked) this.#io.say(`${PERTURBED_MARKER} ${why.replace(/\s+/g, ' ')}`);
  }

  /** Says `CRASHPOINT <step>` and never resolves: the process waits there for its kill -9. */
  hang(): Promise<never> {
    this.mark();
    return new Promise<never>(() => undefined);
  }
}

/** The settings file; `before-upstream` stops the crash refresh's intent before it is written. */
export class CrashingSettingsStore implements SettingsStore {
  readonly #inner: SettingsStore;
  readonly #plan: CrashPlan;

  constructor(inner: SettingsStore, plan: CrashPlan) {
    this.#inner = inner;
    this.#plan = plan;
  }

  get path(): string {
    return this.#inner.path;
  }

  load(): Promise<BrokerSettings> {
    return this.#inner.load();
  }

  save(settings: BrokerSettings): Promise<void> {
    const intents = settings.accounts.flatMap((a) => (a.refreshIntent ? [a.refreshIntent] : []));
    const crashRefreshStarts = this.#plan.noteIntents(intents);
    if (crashRefreshStarts && this.#plan.step === 'before-upstream') return this.#plan.hang();
    return this.#inner.save(settings);
  }
}

/** PikPak: `in-flight` holds the call (the test delays PikPak's answer), `after-answer` drops the answer. */
export class CrashingAuthProvider implements AuthProvider {
  readonly #inner: AuthProvider;
  readonly #plan: CrashPlan;

  constructor(inner: AuthProvider, plan: CrashPlan) {
    this.#inner = inner;
    this.#plan = plan;
  }

  async refresh(input: Parameters<AuthProvider['refresh']>[0]): Promise<TokenGrant> {
    const plan = this.#plan;
    const crashing = plan.inCrashRefresh;
    if (crashing && plan.step === 'in-flight') {
      await plan.arm();
      plan.mark();
    }
    const grant = await this.#inner.refresh(input);
    if (!crashing) return grant;
    if (plan.step === 'after-answer') return plan.hang();
    plan.markAnswered();
    // The test stops the keychain now; the keychain write comes next.
    if (plan.step === 'keychain-writing') await plan.arm();
    return grant;
  }

  signIn(input: Parameters<AuthProvider['signIn']>[0]): Promise<TokenGrant> {
    return this.#inner.signIn(input);
  }
}

/** The keychain: `keychain-writing` marks and starts the real write, `after-keychain-write` stops once it is done. */
export class CrashingSecretStore implements SecretStore {
  readonly #inner: SecretStore;
  readonly #plan: CrashPlan;

  constructor(inner: SecretStore, plan: CrashPlan) {
    this.#inner = inner;
    this.#plan = plan;
  }

  get description(): string {
    return this.#inner.description;
  }

  get(account: string, kind: SecretKind): Promise<Secret | undefined> {
    return this.#watch(this.#inner.get(account, kind), 'read');
  }

  async set(account: string, kind: SecretKind, value: Secret): Promise<void> {
    const plan = this.#plan;
    const crashing = kind === 'refresh-token' && plan.inCrashRefresh && plan.answered;
    if (crashing && plan.step === 'keychain-writing') plan.mark();
    await this.#watch(this.#inner.set(account, kind, value), 'write');
    if (crashing && plan.step === 'after-keychain-write') await plan.hang();
  }

  delete(account: string, kind: SecretKind): Promise<void> {
    return this.#watch(this.#inner.delete(account, kind), 'delete');
  }

  async #watch<T>(operation: Promise<T>, what: string): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      this.#plan.perturbed(`keychain ${what} failed: ${(error as Error).message}`);
      throw error;
    }
  }
}
