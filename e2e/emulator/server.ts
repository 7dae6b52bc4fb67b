/**
 * The PikPak emulator: a local HTTP (and optionally HTTPS) server that speaks PikPak's auth and
 * drive protocol as shared/PIKPAK.md describes it, with strict single-use refresh rotation,
 * run-time fault injection and an admin API under /__emulator/. Every test, benchmark and demo
 * talks to this; nothing ever calls the real PikPak.
 *
 *   const pikpak = await startEmulator({ accounts: [{ username: 'a@example.com', password: 'pw' }] });
 *   // … point the provider at pikpak.url …
 *   await pikpak.close();
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { ADMIN_PREFIX, handleAdmin } from './admin-routes.js';
import { generateEmulatorCertificate } from './cert.js';
import { parseFaultSpec, timingOf } from './faults.js';
import {
  BodyParseError,
  BodyTooLargeError,
  jsonReply,
  parseBody,
  parseJsonValue,
  readBody,
  writeReply,
  type Fields,
} from './http-io.js';
import { errors, type ErrorReply } from './pikpak-errors.js';
import { PIKPAK_ROUTES } from './pikpak-routes.js';
import { strike } from './strike.js';
import type { Emulator, EmulatorConfig, EmulatorOptions } from './types.js';
import { World } from './world.js';

export type { Emulator, EmulatorOptions, EmulatorStats, FaultSpec } from './types.js';

export const DEFAULT_ACCESS_TTL_SECONDS = 7200;

interface Env {
  world: World;
  publicUrl: () => string;
  /** Aborted on close(), so pending delays end with the emulator. */
  closing: AbortSignal;
}

function fail(res: ServerResponse, e: ErrorReply): void {
  writeReply(res, jsonReply(e.status, e.body));
}

function isFormBody(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

async function handleAdminRequest(
  env: Env,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  env.world.countRequest('admin');
  let body: unknown;
  try {
    const raw = await readBody(req);
    // JSON whatever the content type (`curl -d '{…}'` says form-urlencoded); forms from the captcha page.
    const looksJson = /^\s*[[{]/.test(raw.toString('utf8', 0, 64));
    body = isFormBody(req) && !looksJson ? parseBody(raw, req.headers['content-type']) : parseJsonValue(raw);
  } catch (error) {
    if (error instanceof BodyTooLargeError)
      return writeReply(res, jsonReply(413, { error: 'body too large' }));
    if (error instanceof BodyParseError) return writeReply(res, jsonReply(400, { error: error.message }));
    throw error;
  }
  writeReply(res, handleAdmin(env.world, { req, url, body }));
}

async function handle(env: Env, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { world } = env;
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const started = performance.now();
  let note = '';
  res.once('close', () => {
    const outcome = res.writableFinished ? String(res.statusCode) : 'no answer';
    const ms = Math.round(performance.now() - started);
    world.log(`${req.method} ${req.headers.host ?? '-'}${url.pathname} ${outcome} ${ms}ms${note}`);
  });

  if (url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`)) {
    return handleAdminRequest(env, req, res, url);
  }
  const route = PIKPAK_ROUTES.get(url.pathname);
  if (!route) {
    world.countRequest('other');
    return fail(res, errors.notFound());
  }
  world.countRequest(route.endpoint);
  if (req.method !== route.method) return fail(res, errors.methodNotAllowed());

  const draw = world.faults.draw(route.endpoint);
  world.count('faultsInjected', draw.struck);
  const fault = draw.fault;
  if (fault) note = ` [fault ${fault.kind} ${timingOf(fault)}]`;
  if (draw.delaysBefore > 0) await sleep(draw.delaysBefore, undefined, { signal: env.closing });
  if (fault && timingOf(fault) === 'before') return strike(world, fault, req, res);

  let fields: Fields = {};
  try {
    if (route.readsBody) fields = parseBody(await readBody(req), req.headers['content-type']);
    else req.resume();
  } catch (error) {
    if (error instanceof BodyTooLargeError) return fail(res, errors.bodyTooLarge());
    if (error instanceof BodyParseError) return fail(res, errors.invalidArgument(error.message));
    throw error;
  }
  const reply = route.handler(world, { req, url, fields, publicUrl: env.publicUrl() });
  if (draw.delaysAfter > 0) await sleep(draw.delaysAfter, undefined, { signal: env.closing });
  if (fault) return strike(world, fault, req, res);
  writeReply(res, reply);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const config: EmulatorConfig = {
    accessTtlSeconds: options.accessTtlSeconds ?? DEFAULT_ACCESS_TTL_SECONDS,
    requireCaptcha: options.requireCaptcha ?? true,
    captchaChallenge: options.captchaChallenge ?? false,
  };
  const world = new World({
    config,
    now: options.now ?? Date.now,
    random: options.random ?? randomBytes,
    log: options.log ?? (() => {}),
  });
  world.configure(config); // validates accessTtlSeconds
  for (const account of options.accounts ?? []) world.tokens.addAccount(account);

  const host = options.host ?? '127.0.0.1';
  const closer = new AbortController();
  setMaxListeners(0, closer.signal); // one listener per pending delay; there may be thousands
  let url = '';
  const env: Env = { world, publicUrl: () => url, closing: closer.signal };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(env, req, res).catch((error: unknown) => {
      if (closer.signal.aborted) return res.destroy();
      world.log(`internal error: ${(error as Error).message}`);
      if (res.headersSent) res.destroy();
      else
        writeReply(res, jsonReply(500, { error: 'internal', error_code: 13, error_description: 'internal' }));
    });
  };

  const servers: Server[] = [];
  const httpServer = createServer({ keepAliveTimeout: 5000 }, listener);
  servers.push(httpServer);
  url = `http://${urlHost(host)}:${await listen(httpServer, options.port ?? 0, host)}`;

  let httpsUrl: string | undefined;
  let caCertPem: string | undefined;
  if (options.https) {
    const cert = await generateEmulatorCertificate();
    const httpsServer = createHttpsServer(
      { key: cert.keyPem, cert: cert.certChainPem, keepAliveTimeout: 5000 },
      listener,
    );
    servers.push(httpsServer);
    const httpsPort = typeof options.https === 'object' ? (options.https.port ?? 0) : 0;
    httpsUrl = `https://${urlHost(host)}:${await listen(httpsServer, httpsPort, host)}`;
    caCertPem = cert.caCertPem;
  }

  let closed: Promise<void> | undefined;
  return {
    url,
    httpsUrl,
    caCertPem,
    stats: () => world.stats(),
    setFault: (fault) => world.faults.add(parseFaultSpec(fault)),
    clearFaults: () => world.faults.clear(),
    configure: (patch) => {
      world.configure(patch);
    },
    addAccount: (account) => world.tokens.addAccount(account),
    close: () => {
      closed ??= (async () => {
        closer.abort();
        await Promise.all(servers.map(closeServer));
      })();
      return closed;
    },
  };
}
