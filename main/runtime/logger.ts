/**
 * Structured logs with pino. Secrets are Secret instances (they serialize as "[redacted]"), and
 * pino's redaction removes the usual secret-bearing keys as a second line of defence, in case a
 * plain string ever slips into a log call.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type * as Pino from 'pino';
import type { Level, Logger as PinoLogger } from 'pino';
import type { Logger } from '../core/ports.js';

export const REDACT_PATHS = [
  'password',
  'refreshToken',
  'refresh_token',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'secret',
  'authorization',
  '*.password',
  '*.refreshToken',
  '*.refresh_token',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoggerOptions {
  level?: Level | 'silent';
  format?: LogFormat;
  /** Where lines go; stderr by default so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

const requireHere = createRequire(import.meta.url);
const loadPino = (): typeof Pino => requireHere('pino') as typeof Pino;

export function createLogger(options: LoggerOptions = {}): Logger & { pino: PinoLogger } {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? ((destination as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const stream = format === 'pretty' ? prettyStream(destination) : destination;
  // pino is loaded at the first logger, not at import: CLI client commands that never log skip it.
  const { pino } = loadPino();
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  return {
    pino: logger,
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
  };
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** "12:00:01 WARN  message  key=value" lines for people at a terminal. */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const clock = typeof time === 'string' ? time.slice(11, 19) : '';
          const fields = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(
            `${clock} ${(LEVEL_NAMES[level as number] ?? '').padEnd(5)} ${String(msg ?? '')}${fields ? `  ${fields}` : ''}\n`,
          );
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
