/**
 * The emulated PikPak endpoints (shared/PIKPAK.md): captcha init, sign-in, refresh, and the few
 * drive/user calls clients make with an access token. Each handler takes the parsed body and
 * answers a Reply; faults are applied around them by server.ts.
 */
import type { IncomingMessage } from 'node:http';

import { Secret } from '../../main/core/secret.js';
import { PATHS, captchaAction, presetByClientId, type PlatformPreset } from '../../main/pikpak/protocol.js';
import { checkMeta, normalizeAction } from './captcha.js';
import { jsonReply, str, type Fields, type Reply } from './http-io.js';
import { errors, type ErrorReply } from './pikpak-errors.js';
import { fingerprint, type Account } from './tokens.js';
import type { PikPakEndpoint } from './types.js';
import type { World } from './world.js';

export interface RouteContext {
  req: IncomingMessage;
  url: URL;
  fields: Fields;
  /** Base URL for links the emulator hands out (the captcha challenge page). */
  publicUrl: string;
}

export type Handler = (world: World, ctx: RouteContext) => Reply;

export const SIGNIN_ACTION = captchaAction('POST', PATHS.signin);
export const USER_ME_PATH = '/v1/user/me';

function fail(e: ErrorReply): Reply {
  return jsonReply(e.status, e.body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** client_id from the body or the `?client_id=` query (AList sends both). */
function clientIdOf(ctx: RouteContext): string | undefined {
  return str(ctx.fields, 'client_id') || ctx.url.searchParams.get('client_id') || undefined;
}

/** The preset of a known client_id whose client_secret matches, else undefined. */
function authenticateClient(ctx: RouteContext): PlatformPreset | undefined {
  const clientId = clientIdOf(ctx);
  const preset = clientId ? presetByClientId(clientId) : undefined;
  const secret = str(ctx.fields, 'client_secret');
  if (!preset || secret === undefined) return undefined;
  return new Secret(preset.clientSecret).equals(secret) ? preset : undefined;
}

const captchaInit: Handler = (world, ctx) => {
  const clientId = clientIdOf(ctx);
  const preset = clientId ? presetByClientId(clientId) : undefined;
  if (!preset) return fail(errors.invalidClient());
  const action = normalizeAction(str(ctx.fields, 'action') ?? '');
  if (!action) return fail(errors.invalidArgument('action must look like "POST:/v1/auth/signin"'));
  const deviceId = str(ctx.fields, 'device_id') || header(ctx.req, 'x-device-id');
  if (!deviceId) return fail(errors.invalidArgument('device_id is required'));
  const meta = checkMeta(preset, deviceId, ctx.fields['meta']);
  if (!meta.ok) {
    world.log(`captcha init rejected: ${meta.detail}`);
    return fail(
      meta.error === 'bad-sign' ? errors.captchaSignInvalid() : errors.invalidArgument(meta.detail),
    );
  }
  const grant = { deviceId, action, ...(meta.identity === undefined ? {} : { identity: meta.identity }) };
  world.count('captchaInits');
  if (world.config.captchaChallenge && action === SIGNIN_ACTION) {
    const id = world.captcha.openChallenge(grant, str(ctx.fields, 'redirect_uri'));
    const url = `${ctx.publicUrl}/__emulator/captcha?challenge=${encodeURIComponent(id)}`;
    world.log(`captcha init ${action}: challenge issued`);
    return jsonReply(200, { captcha_token: '', expires_in: 300, url });
  }
  const issued = world.captcha.issue(grant);
  return jsonReply(200, { captcha_token: issued.captchaToken, expires_in: issued.expiresIn, url: '' });
};

const signin: Handler = (world, ctx) => {
  const failed = (e: ErrorReply): Reply => {
    world.count('signinFailures');
    world.log(`signin failed: ${e.body.error}`);
    return fail(e);
  };
  const preset = authenticateClient(ctx);
  if (!preset) return failed(errors.invalidClient());
  const username = str(ctx.fields, 'username');
  const password = str(ctx.fields, 'password');
  if (!username || !password) return failed(errors.invalidArgument('username and password are required'));
  if (world.config.requireCaptcha) {
    const deviceId = header(ctx.req, 'x-device-id');
    const check = world.captcha.check(str(ctx.fields, 'captcha_token'), SIGNIN_ACTION, {
      identity: username,
      ...(deviceId ? { deviceId } : {}),
    });
    if (!check.ok) return failed(errors.captchaInvalid(check.why));
  }
  const account = world.tokens.authenticate(username, password);
  if (!account) return failed(errors.invalidAccountOrPassword());
  const tokens = world.tokens.signIn(account, preset.clientId);
  world.count('signins');
  world.log(
    `signin ok user=${account.userId} client=${preset.platform} rt=${fingerprint(tokens.refresh_token)}`,
  );
  return jsonReply(200, tokens);
};

const token: Handler = (world, ctx) => {
  const preset = authenticateClient(ctx);
  if (!preset) return fail(errors.invalidClient());
  if (str(ctx.fields, 'grant_type') !== 'refresh_token') return fail(errors.unsupportedGrantType());
  const refreshToken = str(ctx.fields, 'refresh_token');
  if (!refreshToken) return fail(errors.invalidArgument('refresh_token is required'));
  const outcome = world.tokens.refresh(refreshToken, preset.clientId);
  if (!outcome.ok) {
    world.count('invalidGrants');
    world.log(`refresh rejected (${outcome.reason}) rt=${fingerprint(refreshToken)}`);
    return fail(errors.invalidGrant());
  }
  world.count('refreshes');
  world.log(
    `refresh ok user=${outcome.account.userId} rt=${fingerprint(refreshToken)} -> ${fingerprint(outcome.tokens.refresh_token)}`,
  );
  return jsonReply(200, outcome.tokens);
};

/** `Authorization: Bearer <access token>` → the account, or PikPak's 401. */
function bearer(world: World, req: IncomingMessage): Account | ErrorReply {
  const value = header(req, 'authorization');
  if (!value) return errors.unauthenticated();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!match) return errors.malformedAuthorization();
  const check = world.tokens.checkAccess(match[1]!);
  if (check.ok) return check.account;
  return check.reason === 'expired' ? errors.accessTokenExpired() : errors.unauthenticated();
}

function withAccount(handle: (account: Account, world: World, ctx: RouteContext) => Reply): Handler {
  return (world, ctx) => {
    const account = bearer(world, ctx.req);
    return 'status' in account ? fail(account) : handle(account, world, ctx);
  };
}

const about = withAccount(() =>
  jsonReply(200, {
    kind: 'drive#about',
    quota: {
      kind: 'drive#quota',
      limit: '6597069766656',
      usage: '1073741824',
      usage_in_trash: '0',
      play_times_limit: '-1',
      play_times_usage: '0',
    },
    expires_at: '',
    quotas: {},
  }),
);

const files = withAccount(() =>
  jsonReply(200, {
    kind: 'drive#fileList',
    files: [],
    next_page_token: '',
    version: '',
    version_outdated: false,
  }),
);

const userMe = withAccount((account, world) => {
  const isEmail = account.username.includes('@');
  return jsonReply(200, {
    sub: account.userId,
    name: isEmail ? account.username.split('@')[0] : account.username,
    email: isEmail ? account.username : '',
    phone_number: '',
    picture: '',
    providers: [],
    password: 'SET',
    status: 'ACTIVE',
    created_at: new Date(world.now()).toISOString(),
  });
});

export interface PikPakRoute {
  endpoint: PikPakEndpoint;
  method: 'GET' | 'POST';
  handler: Handler;
  /** Whether the handler needs the request body parsed. */
  readsBody: boolean;
}

/** Path → route. Any Host is accepted (user.mypikpak.com/.net, api-drive.mypikpak.com/.net). */
export const PIKPAK_ROUTES: ReadonlyMap<string, PikPakRoute> = new Map([
  [PATHS.captchaInit, { endpoint: 'captcha', method: 'POST', handler: captchaInit, readsBody: true }],
  [PATHS.signin, { endpoint: 'signin', method: 'POST', handler: signin, readsBody: true }],
  [PATHS.token, { endpoint: 'token', method: 'POST', handler: token, readsBody: true }],
  [PATHS.about, { endpoint: 'about', method: 'GET', handler: about, readsBody: false }],
  [PATHS.files, { endpoint: 'files', method: 'GET', handler: files, readsBody: false }],
  [USER_ME_PATH, { endpoint: 'user', method: 'GET', handler: userMe, readsBody: false }],
]);
