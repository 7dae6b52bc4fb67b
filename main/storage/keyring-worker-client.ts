/**
 * The main thread's side of the keychain worker (keyring-worker.ts): sends one native call at a
 * time to a worker thread and bounds how long anyone waits for it, so that a hung keychain
 * (gnome-keyring stopped, an unlock prompt nobody answers) never blocks the event loop and never
 * piles calls up behind it.
 *
 * - Each call has a deadline (from the moment it is made, queueing included): past it the call
 *   rejects with KeychainDeadlineError.
 * - A call in flight longer than `stallMs` marks the keychain as not answering: the calls queued
 *   behind it, and those made while it lasts, reject at once with KeychainStalledError instead of
 *   waiting their turn (the vault retries them later).
 * - A call that reaches its deadline in flight leaves its worker stuck in native code. `terminate()`
 *   cannot interrupt a thread blocked in a D-Bus call (it takes effect when the call returns), so
 *   the worker is abandoned — terminated, forgotten — and the next call gets a fresh one. At most
 *   `maxAbandoned` stuck workers are allowed at a time; beyond that calls fail fast until one exits.
 * - The worker is unref'd: it never keeps the process alive. A pending call's deadline timer does,
 *   as a pending keychain write should.
 * - An idle worker is stopped after `idleMs`: a thread with its own V8 heap costs several MB of
 *   RSS for calls that come a few times an hour; starting one again takes a few tens of ms.
 */
import { Worker } from 'node:worker_threads';
import { KeychainDeadlineError } from './keychain-deadline-error.js';
import { KeychainStalledError } from './keychain-stalled-error.js';
import type {
  KeyringOperation,
  KeyringWorkerReply,
  KeyringWorkerRequest,
} from './keyring-worker-protocol.js';

/** The part of `Worker` used here; tests pass a fake. */
export interface WorkerLike {
  postMessage(message: KeyringWorkerRequest): void;
  on(event: 'message', listener: (reply: KeyringWorkerReply) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  unref(): void;
}

export interface KeyringCall {
  readonly op: KeyringOperation;
  readonly service: string;
  readonly user: string;
  readonly value?: string;
}

export interface KeyringWorkerOptions {
  /** Starts a worker thread; default: keyring-worker.js next to this module (or .ts under tsx). */
  spawn?: () => WorkerLike;
  /** A call in flight longer than this means the keychain is not answering. Default 1 s. */
  stallMs?: number;
  /** Stuck workers tolerated at once before calls fail fast. Default 2. */
  maxAbandoned?: number;
  /** An idle worker is stopped after this long. Default 10 s. */
  idleMs?: number;
}

interface Pending {
  readonly request: KeyringWorkerRequest;
  readonly timeoutMs: number;
  readonly resolve: (value: string | boolean | null) => void;
  readonly reject: (error: Error) => void;
  deadline?: NodeJS.Timeout;
}

interface InFlight {
  readonly pending: Pending;
  readonly worker: WorkerLike;
  readonly sentAt: number;
  stalled: boolean;
  stallTimer?: NodeJS.Timeout;
}

/**
 * 1 s: a healthy Secret Service answers in a few ms (a cold D-Bus activation in well under a
 * second), while a hung one makes the binding wait for its ~2 s D-Bus reply timeout.
 */
const DEFAULT_STALL_MS = 1000;

export class KeyringWorker {
  readonly #spawn: () => WorkerLike;
  readonly #stallMs: number;
  readonly #maxAbandoned: number;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #worker: WorkerLike | undefined;
  #inFlight: InFlight | undefined;
  readonly #queue: Pending[] = [];
  #abandoned = 0;
  #nextId = 1;

  constructor(options: KeyringWorkerOptions = {}) {
    this.#spawn = options.spawn ?? spawnKeyringWorker;
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.#maxAbandoned = options.maxAbandoned ?? 2;
    this.#idleMs = options.idleMs ?? 10_000;
  }

  /** Stuck workers not yet exited (for tests and diagnostics). */
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
    let worker: WorkerLike;
    try {
      worker = this.#currentWorker();
    } catch (error) {
      this.#settle(pending, () => pending.reject(asError(error)));
      this.#pump();
      return;
    }
    const inFlight: InFlight = { pending, worker, sentAt: Date.now(), stalled: false };
    inFlight.stallTimer = setTimeout(() => this.#onStall(inFlight), this.#stallMs);
    inFlight.stallTimer.unref();
    this.#inFlight = inFlight;
    worker.postMessage(pending.request);
  }

  #scheduleIdleStop(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#worker !== worker || this.#inFlight || this.#queue.length > 0) return;
      this.#worker = undefined;
      void worker.terminate();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #currentWorker(): WorkerLike {
    if (this.#worker) return this.#worker;
    const worker = this.#spawn();
    worker.on('message', (reply) => this.#onReply(worker, reply));
    worker.on('error', (error) => this.#onWorkerGone(worker, error));
    worker.on('exit', (code) =>
      this.#onWorkerGone(worker, new Error(`the keychain worker stopped (exit code ${code})`)),
    );
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #onReply(worker: WorkerLike, reply: KeyringWorkerReply): void {
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.worker !== worker || inFlight.pending.request.id !== reply.id) return;
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
    // Stuck in native code: abandon this worker; the next call gets a fresh one.
    this.#finishInFlight();
    this.#abandon(inFlight.worker);
    pending.reject(new KeychainDeadlineError(pending.request.op, pending.timeoutMs));
    this.#pump();
  }

  #abandon(worker: WorkerLike): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#abandoned += 1;
    let counted = true;
    const release = () => {
      if (counted) this.#abandoned -= 1;
      counted = false;
    };
    worker.on('exit', release);
    worker.terminate().then(release, release);
  }

  #onWorkerGone(worker: WorkerLike, error: Error): void {
    if (this.#worker === worker) this.#worker = undefined;
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.worker !== worker) return;
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

/**
 * The worker file sits next to this module: keyring-worker.js in the compiled build. Under tsx
 * (a development checkout) this module is .ts, and a worker does not inherit tsx's loader when it
 * was registered through its API (bin/pikpak-token-broker.js does that), nor load a .ts entry from
 * `--import tsx` in its execArgv on Node 20; so a two-line bootstrap registers tsx inside the
 * worker and then imports the .ts worker. `execArgv: []`: the parent's flags (`--input-type`,
 * `--import tsx`…) are not the worker's business and some make it fail to start.
 */
export function spawnKeyringWorker(): WorkerLike {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    return new Worker(new URL('./keyring-worker.js', here), { name: 'keychain', execArgv: [] });
  }
  const bootstrap =
    "const { workerData } = require('node:worker_threads');" +
    'import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry); });';
  return new Worker(bootstrap, {
    eval: true,
    name: 'keychain',
    execArgv: [],
    workerData: { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./keyring-worker.ts', here).href },
  });
}

let shared: KeyringWorker | undefined;

/** The process's one keychain worker (the native binding is per process anyway). */
export function sharedKeyringWorker(): KeyringWorker {
  shared ??= new KeyringWorker();
  return shared;
}
