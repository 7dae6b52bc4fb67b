/**
 * The CLI's side of the token service: HTTP/1.1 + JSON over the broker's Unix socket (or named
 * pipe), authenticated with the owner's admin credential from the data folder. Errors come back
 * as the service's `{"error":{"code","message"}}` and become CliErrors with documented exit codes.
 */
import { request } from 'node:http';
import type { Secret } from '../core/secret.js';
import type { RuntimeConfig } from '../runtime/config.js';
import { AdminCredential } from '../service/admin-credential.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { captchaInstructions } from './report-error.js';

export interface ServiceError {
  code: string;
  message: string;
  url?: string;
  reason?: string;
}

/** Service error codes → CLI exit codes. */
export function exitCodeForService(code: string): ExitCode {
  switch (code) {
    case 'reauth_required':
    case 'signed_out':
      return EXIT.reauthRequired;
    case 'captcha_required':
    case 'pikpak_rejected':
      return EXIT.pikpakRejected;
    case 'upstream_unavailable':
    case 'rate_limited':
      return EXIT.upstreamUnavailable;
    case 'account_not_found':
    case 'client_not_found':
    case 'client_exists':
    case 'invalid_account_name':
    case 'invalid_client':
    case 'account_conflict':
    case 'bad_request':
      return EXIT.usage;
    case 'keychain_unavailable':
      return EXIT.keychainUnavailable;
    default:
      return EXIT.failure;
  }
}

function messageForService(error: ServiceError): string {
  if (error.code === 'captcha_required' && error.url) return captchaInstructions(error.url);
  return error.message;
}

export class BrokerClient {
  readonly socketPath: string;
  readonly #admin: Secret | undefined;

  private constructor(socketPath: string, admin: Secret | undefined) {
    this.socketPath = socketPath;
    this.#admin = admin;
  }

  /** A client for the running broker, or undefined when nothing answers on the socket. */
  static async connect(config: RuntimeConfig): Promise<BrokerClient | undefined> {
    const probe = new BrokerClient(config.socketPath, undefined);
    try {
      const health = await probe.#send('GET', '/v1/health', undefined, 2000);
      if (health.status !== 200) return undefined;
    } catch {
      return undefined;
    }
    let admin: Secret | undefined;
    try {
      admin = await AdminCredential.read(config.dataDir);
    } catch {
      admin = undefined; // the broker runs with another data folder, or as another user
    }
    return new BrokerClient(config.socketPath, admin);
  }

  /** Like connect(), but a missing broker is exit code 4 with what to do. */
  static async require(config: RuntimeConfig): Promise<BrokerClient> {
    const client = await BrokerClient.connect(config);
    if (!client)
      throw new CliError(
        `The broker is not running (nothing answers on ${config.socketPath}). Start it with: pikpak-token-broker daemon (or the tray app).`,
        EXIT.brokerNotRunning,
      );
    return client;
  }

  /** Calls the service as the owner; resolves the parsed JSON of a 2xx answer. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.#admin)
      throw new CliError(
        'The broker is running, but its admin credential (admin.token) is not in this data folder: pass the same --data-dir as the broker, as the same user.',
        EXIT.failure,
      );
    const answer = await this.#send(method, path, body);
    const parsed: unknown = answer.text ? JSON.parse(answer.text) : undefined;
    if (answer.status >= 200 && answer.status < 300) return parsed as T;
    const error = (parsed as { error?: ServiceError } | undefined)?.error ?? {
      code: 'internal',
      message: `the broker answered HTTP ${answer.status}`,
    };
    throw new CliError(messageForService(error), exitCodeForService(error.code));
  }

  /** Follows the event stream; calls `onEvent` per event until the stream ends or `signal` aborts. */
  async follow(onEvent: (event: string, data: unknown) => void, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path: '/v1/events',
          method: 'GET',
          headers: {
            host: 'localhost',
            accept: 'text/event-stream',
            authorization: `Bearer ${this.#admin?.reveal() ?? ''}`,
          },
          signal,
        },
        (res) => {
          if (res.statusCode !== 200) {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.on('end', () => {
              const error = (JSON.parse(text || '{}') as { error?: ServiceError }).error;
              reject(
                new CliError(
                  error?.message ?? `HTTP ${res.statusCode}`,
                  exitCodeForService(error?.code ?? ''),
                ),
              );
            });
            return;
          }
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) !== -1) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let event = 'message';
              const data: string[] = [];
              for (const line of block.split('\n')) {
                if (line.startsWith('event:')) event = line.slice(6).trim();
                else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
              }
              if (data.length) onEvent(event, JSON.parse(data.join('\n')));
            }
          });
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.on('error', (error) => (signal?.aborted ? resolve() : reject(error)));
      req.end();
    });
  }

  #send(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 120_000,
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path,
          method,
          timeout: timeoutMs,
          headers: {
            host: 'localhost',
            ...(this.#admin ? { authorization: `Bearer ${this.#admin.reveal()}` } : {}),
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`the broker did not answer within ${timeoutMs / 1000}s`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
