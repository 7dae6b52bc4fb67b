/**
 * The emulator's own HTTP API under /__emulator/ (never part of PikPak): faults, configuration,
 * accounts, revocation, stats, and the captcha challenge page. Errors are `{error}` with 4xx.
 */
import type { IncomingMessage } from 'node:http';

import * as v from 'valibot';

import { describeIssue } from '../../main/validation/issues.js';

import { CAPTCHA_PAGE_PATH, CAPTCHA_SOLVE_PATH, captchaPage, solveCaptcha } from './captcha-page.js';
import { parseFaultSpec } from './faults.js';
import { jsonReply, type Reply } from './http-io.js';
import type { World } from './world.js';

export const ADMIN_PREFIX = '/__emulator';

export interface AdminContext {
  req: IncomingMessage;
  url: URL;
  /** JSON value, or the fields of a form-encoded body. */
  body: unknown;
}

const nonEmpty = v.pipe(v.string(), v.minLength(1));
const accountSchema = v.object({
  username: nonEmpty,
  password: nonEmpty,
  userId: v.optional(nonEmpty),
});
const configSchema = v.strictObject({
  accessTtlSeconds: v.optional(v.pipe(v.number(), v.integer(), v.gtValue(0))),
  requireCaptcha: v.optional(v.boolean()),
  captchaChallenge: v.optional(v.boolean()),
});
const revokeSchema = v.object({ username: nonEmpty, accessTokens: v.optional(v.boolean()) });

class AdminInputError extends Error {}

function parse<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (!result.success)
    throw new AdminInputError(result.issues.map((i) => describeIssue(i, '(root)', '')).join('\n'));
  return result.output;
}

function many(input: unknown): unknown[] {
  return Array.isArray(input) ? input : [input];
}

type AdminHandler = (world: World, ctx: AdminContext) => Reply;

const routes: Record<string, Partial<Record<string, AdminHandler>>> = {
  '': {
    GET: () =>
      jsonReply(200, {
        emulator: 'pikpak',
        endpoints: [
          'GET /__emulator/stats',
          'GET|POST|DELETE /__emulator/faults',
          'GET|POST /__emulator/config',
          'POST /__emulator/accounts',
          'POST /__emulator/revoke',
          'GET /__emulator/captcha?challenge=ID',
          'GET|POST /__emulator/captcha/solve?challenge=ID',
        ],
      }),
  },
  '/stats': { GET: (world) => jsonReply(200, world.stats()) },
  '/faults': {
    GET: (world) => jsonReply(200, { faults: world.faults.list() }),
    POST: (world, ctx) => {
      let specs;
      try {
        specs = many(ctx.body).map(parseFaultSpec);
      } catch (error) {
        throw new AdminInputError((error as Error).message);
      }
      for (const spec of specs) world.faults.add(spec);
      world.log(`faults added: ${specs.map((s) => `${s.kind}@${s.endpoint}`).join(', ')}`);
      return jsonReply(201, { faults: world.faults.list() });
    },
    DELETE: (world) => {
      world.faults.clear();
      return jsonReply(200, { faults: [] });
    },
  },
  '/config': {
    GET: (world) => jsonReply(200, { ...world.config }),
    POST: (world, ctx) => jsonReply(200, world.configure(parse(configSchema, ctx.body))),
  },
  '/accounts': {
    POST: (world, ctx) => {
      const accounts = many(ctx.body).map((a) => parse(accountSchema, a));
      const added = accounts.map((a) => ({ username: a.username, userId: world.tokens.addAccount(a) }));
      return jsonReply(201, { accounts: added });
    },
  },
  '/revoke': {
    POST: (world, ctx) => {
      const { username, accessTokens } = parse(revokeSchema, ctx.body);
      const revoked = world.tokens.revoke(username, { accessTokens: accessTokens ?? false });
      if (revoked === undefined) return jsonReply(404, { error: `unknown account ${username}` });
      world.log(`revoked ${revoked} refresh token(s) of one account`);
      return jsonReply(200, { revoked });
    },
  },
  [CAPTCHA_PAGE_PATH.slice(ADMIN_PREFIX.length)]: {
    GET: (world, ctx) => captchaPage(world, ctx.url.searchParams.get('challenge') ?? ''),
  },
  [CAPTCHA_SOLVE_PATH.slice(ADMIN_PREFIX.length)]: {
    GET: (world, ctx) => solveCaptcha(world, ctx.req, ctx.url.searchParams.get('challenge') ?? undefined),
    POST: (world, ctx) => {
      const fromBody =
        typeof ctx.body === 'object' && ctx.body !== null
          ? (ctx.body as Record<string, unknown>)['challenge']
          : undefined;
      const id =
        typeof fromBody === 'string' ? fromBody : (ctx.url.searchParams.get('challenge') ?? undefined);
      return solveCaptcha(world, ctx.req, id);
    },
  },
};

export function handleAdmin(world: World, ctx: AdminContext): Reply {
  const path = ctx.url.pathname.slice(ADMIN_PREFIX.length).replace(/\/$/, '');
  const route = routes[path];
  if (!route) return jsonReply(404, { error: 'unknown emulator endpoint' });
  const handler = route[ctx.req.method ?? 'GET'];
  if (!handler) return jsonReply(405, { error: 'method not allowed' });
  try {
    return handler(world, ctx);
  } catch (error) {
    if (error instanceof AdminInputError) return jsonReply(400, { error: error.message });
    throw error;
  }
}
