/**
 * The real daemon as users run it — `pikpak-token-broker bridge` (the daemon with the AList bridge
 * on) through the CLI in a child process — plus what the soak watches from outside: its JSON log
 * (read line by line, never kept whole), and its resident memory, open descriptors and CPU time
 * from /proc/<pid>.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { spawnCli, waitFor } from '../support/cli-process.js';
import type { RssSample } from './types.js';

export interface DaemonLogFigures {
  /** `refresh failed; will retry`, by the error code the keeper logged. */
  readonly refreshFailures: Record<string, number>;
  /** Failure streaks: first failed attempts after a success. */
  readonly retryEpisodes: number;
  readonly maxRetryAttempt: number;
  /** `PikPak rejected the refresh token (invalid_grant)` lines. */
  readonly invalidGrantLines: number;
  readonly warnings: Record<string, number>;
  readonly errors: Record<string, number>;
}

interface LogLine {
  level?: number | string;
  msg?: string;
  attempt?: number;
  error?: { code?: string };
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly #tail: string[] = [];
  readonly #samples: RssSample[] = [];
  readonly #refreshFailures: Record<string, number> = {};
  readonly #warnings: Record<string, number> = {};
  readonly #errors: Record<string, number> = {};
  readonly #startedAt = Date.now();
  #partial = '';
  #retryEpisodes = 0;
  #maxAttempt = 0;
  #invalidGrantLines = 0;
  #bridgePort = 0;
  #serviceUp = false;
  #sampler: NodeJS.Timeout | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exited = false;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout!.resume();
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.#onLog(chunk));
    child.stdin!.end();
    this.#exit = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.#exited = true;
        resolve({ code, signal });
      });
    });
  }

  /** Starts `pikpak-token-broker bridge …` and waits until both the token service and the bridge listen. */
  static async start(args: string[], env: Record<string, string>): Promise<DaemonProcess> {
    const daemon = new DaemonProcess(spawnCli(args, { env }));
    try {
      await waitFor(
        () => {
          if (daemon.#exited) throw new Error(`the daemon exited during start-up:\n${daemon.logTail()}`);
          return daemon.#serviceUp && daemon.#bridgePort > 0;
        },
        'the daemon to listen (token service and bridge)',
        60_000,
      );
    } catch (error) {
      daemon.child.kill('SIGKILL');
      throw error;
    }
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** When the process was spawned (ms since the epoch); sample times count from here. */
  get startedAt(): number {
    return this.#startedAt;
  }

  get bridgePort(): number {
    return this.#bridgePort;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Samples /proc every `intervalMs` until stop(). */
  startSampling(intervalMs: number): void {
    void this.sample();
    this.#sampler = setInterval(() => void this.sample(), intervalMs);
  }

  async sample(): Promise<RssSample | undefined> {
    if (this.#exited) return undefined;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
      const fds = (await readdir(`/proc/${this.pid}/fd`)).length;
      if (!Number.isFinite(kb)) return undefined;
      const sample = {
        t: Math.round((Date.now() - this.#startedAt) / 100) / 10,
        rssMb: Math.round(kb / 102.4) / 10,
        fds,
      };
      this.#samples.push(sample);
      return sample;
    } catch {
      return undefined; // the process is gone
    }
  }

  get samples(): readonly RssSample[] {
    return this.#samples;
  }

  /** User + system CPU seconds so far (from /proc/<pid>/stat; clock ticks of 1/100 s). */
  async cpuSeconds(): Promise<number> {
    try {
      const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return Number.NaN;
    }
  }

  logFigures(): DaemonLogFigures {
    return {
      refreshFailures: { ...this.#refreshFailures },
      retryEpisodes: this.#retryEpisodes,
      maxRetryAttempt: this.#maxAttempt,
      invalidGrantLines: this.#invalidGrantLines,
      warnings: { ...this.#warnings },
      errors: { ...this.#errors },
    };
  }

  logTail(lines = 40): string {
    return this.#tail.slice(-lines).join('\n');
  }

  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  async stop(graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.#sampler) clearInterval(this.#sampler);
    if (!this.#exited) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.#exit;
    clearTimeout(timer);
    return exit;
  }

  kill(): void {
    if (this.#sampler) clearInterval(this.#sampler);
    if (!this.#exited) this.child.kill('SIGKILL');
  }

  #onLog(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      this.#tail.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
      if (this.#tail.length > 200) this.#tail.splice(0, this.#tail.length - 200);
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        this.#bump(this.#warnings, `(not JSON) ${line.slice(0, 80)}`);
        continue;
      }
      this.#onEntry(entry);
    }
  }

  #onEntry(entry: LogLine): void {
    const msg = entry.msg ?? '';
    const level = typeof entry.level === 'number' ? entry.level : (LEVELS[entry.level ?? ''] ?? 30);
    if (!this.#serviceUp && msg.startsWith('token service listening')) this.#serviceUp = true;
    const bridge = /AList bridge listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(msg);
    if (bridge) this.#bridgePort = Number(bridge[1]);
    if (msg === 'refresh failed; will retry') {
      this.#bump(this.#refreshFailures, entry.error?.code ?? 'unknown');
      this.#maxAttempt = Math.max(this.#maxAttempt, entry.attempt ?? 0);
      if (entry.attempt === 1) this.#retryEpisodes += 1;
    } else if (msg.startsWith('PikPak rejected the refresh token')) {
      this.#invalidGrantLines += 1;
    }
    if (level >= 50) this.#bump(this.#errors, msg.slice(0, 120));
    else if (level >= 40 && msg !== 'refresh failed; will retry')
      this.#bump(this.#warnings, msg.slice(0, 120));
  }

  #bump(into: Record<string, number>, key: string): void {
    into[key] = (into[key] ?? 0) + 1;
  }
}
