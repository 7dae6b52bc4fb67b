/**
 * The broker's side of the keychain host (keyring-host.ts): sends one native call at a time to a
 * child process and bounds how long anyone waits for it, so that a hung keychain (gnome-keyring
 * stopped, an unlock prompt nobody answers) never blocks the event loop and never piles calls up
 * behind it, and so that the native code runs with a small fd table of its own (libdbus hangs or
 * crashes on a descriptor ≥ 1024, which a herd of connections gives the broker's process).
 *
 * - Each call has a deadline (from the moment it is made, queueing included): past it the call
 *   rejects with KeychainDeadlineError.
 * - A call in flight longer than `stallMs` marks the keychain as not answering: the calls queued
 *   behind it, and those made while it lasts, reject at once with KeychainStalledError instead of
 *   waiting their turn (the vault retries them later).
 * - A call that reaches its deadline in flight has its host killed (SIGKILL; a native D-Bus call
 *   cannot be interrupted otherwise) and the next call gets a fresh one. At most `maxAbandoned`
 *   killed hosts that have not yet exited are allowed at a time; beyond that calls fail fast.
 * - The host is unref'd: it never keeps the process alive. A pending call's deadline timer does,
 *   as a pending keychain write should.
 * - An idle host is stopped after `idleMs`: a Node process costs some 40 MB of RSS for calls that
 *   come a few times an hour; starting one again takes a few tens of ms. It starts lazily.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeychainDeadlineError } from './keychain-deadline-error.js';
import { KeychainStalledError } from './keychain-stalled-error.js';
import type { KeyringOperation, KeyringHostReply, KeyringHostRequest } from './keyring-host-protocol.js';

/**
 * A started keychain host process: Node's ChildProcess (forkKeyringHost) or, in the desktop app,
 * Electron's UtilityProcess (the shell adapts it, see main/shell/keyring-utility-host.ts); tests
 * pass a fake.
 */
export interface KeyringHostProcess {
  postMessage(message: KeyringHostRequest): void;
  on(event: 'message', listener: (reply: KeyringHostReply) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null) => void): unknown;
  /** Ends it at once (SIGKILL): a native call in flight cannot be interrupted any other way. */
  kill(): void;
  /** It must never keep the broker's process alive. */
  unref(): void;
}

/** Starts a keychain host process. */
export type KeyringHostSpawner = () => KeyringHostProcess;

export interface KeyringCall {
  readonly op: KeyringOperation;
  readonly service: string;
  readonly user: string;
  readonly value?: string;
}

export interface KeyringHostOptions {
  /** Starts a host process; default forkKeyringHost (or the one given to useKeyringHostSpawner). */
  spawn?: KeyringHostSpawner;
  /** A call in flight longer than this means the keychain is not answering. Default 1 s. */
  stallMs?: number;
  /** Killed hosts not yet exited tolerated at once before calls fail fast. Default 2. */
  maxAbandoned?: number;
  /** An idle host is stopped after this long. Default 10 s. */
  idleMs?: number;
}

interface Pending {
  readonly request: KeyringHostRequest;
  readonly timeoutMs: number;
  readonly resolve: (value: string | boolean | null) => void;
  readonly reject: (error: Error) => void;
  deadline?: NodeJS.Timeout;
}

interface InFlight {
  readonly pending: Pending;
  readonly host: KeyringHostProcess;
  readonly sentAt: number;
  stalled: boolean;
  stallTimer?: NodeJS.Timeout;
}

/**
 * 1 s: a healthy Secret Service answers in a few ms (a cold D-Bus activation in well under a
 * second), while a hung one makes the binding wait for its ~2 s D-Bus reply timeout.
 */
const DEFAULT_STALL_MS = 1000;

export class KeyringHost {
  readonly #spawn: KeyringHostSpawner;
  readonly #stallMs: number;
  readonly #maxAbandoned: number;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #host: KeyringHostProcess | undefined;
  #inFlight: InFlight | undefined;
  readonly #queue: Pending[] = [];
  #abandoned = 0;
  #nextId = 1;

  constructor(options: KeyringHostOptions = {}) {
    this.#spawn = options.spawn ?? (() => (spawner ?? forkKeyringHost)());
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.#maxAbandoned = options.maxAbandoned ?? 2;
    this.#idleMs = options.idleMs ?? 10_000;
  }

  /** Killed hosts not yet exited (for tests and diagnostics). */
  get abandoned(): number {
    return this.#abandoned;
  }

  call(call: KeyringCall, timeoutMs: number): Promise<string | boolean | null> {
    return new Promise((resolve, reject) => {
      const refusal = this.#refusal();
      if (refusal) {
        reject(refusal);
        return;
      }
      const pending: Pending = { request: { ...call, id: this.#nextId++ }, timeoutMs, resolve, reject };
      pending.deadline = setTimeout(() => this.#onDeadline(pending), timeoutMs);
      this.#queue.push(pending);
      this.#pump();
    });
  }

  /** Why a new call must fail at once, if it must. */
  #refusal(): KeychainStalledError | undefined {
    const inFlight = this.#inFlight;
    if (inFlight?.stalled)
      return new KeychainStalledError(inFlight.pending.request.op, Date.now() - inFlight.sentAt);
    if (this.#abandoned >= this.#maxAbandoned) return new KeychainStalledError(undefined, undefined);
    return undefined;
  }

  #pump(): void {
    if (this.#inFlight) return;
    clearTimeout(this.#idleTimer);
    const pending = this.#queue.shift();
    if (!pending) {
      this.#scheduleIdleStop();
      return;
    }
    let host: KeyringHostProcess;
    try {
      host = this.#currentHost();
    } catch (error) {
      this.#settle(pending, () => pending.reject(asError(error)));
      this.#pump();
      return;
    }
    const inFlight: InFlight = { pending, host, sentAt: Date.now(), stalled: false };
    inFlight.stallTimer = setTimeout(() => this.#onStall(inFlight), this.#stallMs);
    inFlight.stallTimer.unref();
    this.#inFlight = inFlight;
    host.postMessage(pending.request);
  }

  #scheduleIdleStop(): void {
    const host = this.#host;
    if (!host) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#host !== host || this.#inFlight || this.#queue.length > 0) return;
      this.#host = undefined;
      host.kill();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #currentHost(): KeyringHostProcess {
    if (this.#host) return this.#host;
    const host = this.#spawn();
    host.on('message', (reply) => this.#onReply(host, reply));
    host.on('error', (error) => this.#onHostGone(host, error));
    host.on('exit', (code) =>
      this.#onHostGone(
        host,
        new Error(`the keychain host process stopped (exit code ${code ?? 'none, killed'})`),
      ),
    );
    host.unref();
    this.#host = host;
    return host;
  }

  #onReply(host: KeyringHostProcess, reply: KeyringHostReply): void {
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.host !== host || inFlight.pending.request.id !== reply.id) return;
    this.#finishInFlight();
    const { pending } = inFlight;
    this.#settle(pending, () => {
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    this.#pump();
  }

  #onStall(inFlight: InFlight): void {
    if (this.#inFlight !== inFlight) return;
    inFlight.stalled = true;
    const waited = Date.now() - inFlight.sentAt;
    for (const queued of this.#queue.splice(0)) {
      this.#settle(queued, () =>
        queued.reject(new KeychainStalledError(inFlight.pending.request.op, waited)),
      );
    }
  }

  #onDeadline(pending: Pending): void {
    pending.deadline = undefined;
    const queuedAt = this.#queue.indexOf(pending);
    if (queuedAt >= 0) {
      this.#queue.splice(queuedAt, 1);
      pending.reject(new KeychainDeadlineError(pending.request.op, pending.timeoutMs));
      return;
    }
    const inFlight = this.#inFlight;
    if (inFlight?.pending !== pending) return;
    // Stuck in native code: kill this host; the next call gets a fresh one.
    this.#finishInFlight();
    this.#abandon(inFlight.host);
    pending.reject(new KeychainDeadlineError(pending.request.op, pending.timeoutMs));
    this.#pump();
  }

  #abandon(host: KeyringHostProcess): void {
    if (this.#host !== host) return;
    this.#host = undefined;
    this.#abandoned += 1;
    let counted = true;
    const release = () => {
      if (counted) this.#abandoned -= 1;
      counted = false;
    };
    host.on('exit', release);
    host.kill();
  }

  #onHostGone(host: KeyringHostProcess, error: Error): void {
    if (this.#host === host) this.#host = undefined;
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.host !== host) return;
    this.#finishInFlight();
    this.#settle(inFlight.pending, () => inFlight.pending.reject(error));
    this.#pump();
  }

  #finishInFlight(): void {
    clearTimeout(this.#inFlight?.stallTimer);
    this.#inFlight = undefined;
  }

  #settle(pending: Pending, settle: () => void): void {
    clearTimeout(pending.deadline);
    pending.deadline = undefined;
    settle();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** How the compiled build, the esbuild bundle and a tsx checkout start the host. */
export interface KeyringHostEntry {
  readonly script: string;
  readonly execArgv: string[];
}

/**
 * The host script sits next to this module: keyring-host.js in the compiled build (and in the
 * esbuild bundle, scripts/bundle-cli.mjs). Under tsx (a development checkout) this module is .ts
 * and the child needs tsx's loader: `--import` with tsx resolved from here, so the child's cwd
 * does not matter. Otherwise `execArgv: []`: the parent's flags (`--input-type`, inspector, heap
 * limits…) are not the host's business.
 */
export function keyringHostEntry(here: string = import.meta.url): KeyringHostEntry {
  if (!here.endsWith('.ts'))
    return { script: fileURLToPath(new URL('./keyring-host.js', here)), execArgv: [] };
  return {
    script: fileURLToPath(new URL('./keyring-host.ts', here)),
    execArgv: ['--import', import.meta.resolve('tsx')],
  };
}

/**
 * Forks keyring-host with Node (`process.execPath`). Its stdio is closed: it has nothing to say
 * but its replies, which go over the IPC channel (as do the values to store: never argv or env).
 * It inherits the environment (the D-Bus session address) and none of the broker's descriptors
 * (Node opens them close-on-exec), so its fd table stays small.
 */
export function forkKeyringHost(): KeyringHostProcess {
  const { script, execArgv } = keyringHostEntry();
  const child = fork(script, [], {
    execArgv,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    serialization: 'json',
  });
  return {
    postMessage: (message) => child.send(message),
    on(event: 'message' | 'error' | 'exit', listener: (value: never) => void) {
      child.on(event, listener as (...args: unknown[]) => void);
      return this;
    },
    kill: () => child.kill('SIGKILL'),
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
  };
}

let spawner: KeyringHostSpawner | undefined;

/**
 * Sets how this process starts keychain hosts, before the first keychain call. The desktop app
 * passes one over Electron's utilityProcess: its packaged binary has the RunAsNode fuse off, so
 * it cannot fork itself as Node (main/storage does not import electron; the shell does).
 */
export function useKeyringHostSpawner(spawn: KeyringHostSpawner): void {
  spawner = spawn;
}

let shared: KeyringHost | undefined;

/** The process's one keychain host client: one native call at a time, machine-wide per broker. */
export function sharedKeyringHost(): KeyringHost {
  shared ??= new KeyringHost();
  return shared;
}
