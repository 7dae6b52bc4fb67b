/**
 * The owner's calls (the CLI, with the admin credential): full status, sign-in and sign-out,
 * refresh now, and client management. A client secret gets 403 here.
 */
import * as v from 'valibot';
import { issueMessage, issuePath } from '../validation/issues.js';
import { Secret } from '../core/secret.js';
import { PLATFORMS } from '../pikpak/protocol.js';
import { ALL_ACCOUNTS } from './client-registry.js';
import { jsonBody } from './consumer-routes.js';
import { HttpError } from './http-error.js';
import { clientJson, secondsLeft, statusJson } from './json-view.js';
import { reply, type Call, type Reply, type Route } from './route.js';

const ACCOUNT_REFRESH = /^\/v1\/accounts\/([^/]+)\/refresh$/;
const CLIENT = /^\/v1\/admin\/clients\/([^/]+)$/;

const nonEmpty = v.pipe(v.string(), v.minLength(1));
const loginSchema = v.object({
  account: nonEmpty,
  username: nonEmpty,
  password: nonEmpty,
  platform: v.picklist(PLATFORMS),
  remember_password: v.optional(v.boolean()),
  device_id: v.optional(nonEmpty),
  captcha_token: v.optional(nonEmpty),
});
const logoutSchema = v.object({ account: nonEmpty });
const addClientSchema = v.object({
  name: nonEmpty,
  accounts: v.pipe(v.array(nonEmpty), v.minLength(1)),
});

/** Validates a body; the message names the field and the problem, never the value sent. */
function parse<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, value ?? {});
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const where = issuePath(issue) ? `${issuePath(issue)}: ` : '';
  throw new HttpError(400, 'bad_request', `${where}${issueMessage(issue)}`);
}

async function status(call: Call): Promise<Reply> {
  return reply(200, statusJson(await call.deps.broker.checkedStatus()));
}

async function login(call: Call): Promise<Reply> {
  const body = parse(loginSchema, jsonBody(call, true));
  const view = await call.deps.broker.login({
    account: body.account,
    username: body.username,
    password: new Secret(body.password),
    platform: body.platform,
    rememberPassword: body.remember_password ?? false,
    deviceId: body.device_id,
    captchaToken: body.captcha_token,
  });
  const vault = call.deps.broker.vault;
  return reply(200, {
    account: view.account,
    expires_at: new Date(view.expiresAt).toISOString(),
    device_id: view.deviceId,
    user_id: view.userId,
    // A locked or absent keychain does not fail a sign-in (the broker keeps working from memory),
    // but the caller must be able to tell the user the truth about where the secrets are.
    refresh_token_saved: !vault.hasPending(view.account, 'refresh-token'),
    password_saved: (body.remember_password ?? false) && !vault.hasPending(view.account, 'password'),
    // Where the broker keeps them (its store, not the one the CLI's own flags name).
    secret_store: vault.description,
  });
}

async function logout(call: Call): Promise<Reply> {
  const body = parse(logoutSchema, jsonBody(call, true));
  await call.deps.broker.logout(body.account);
  return reply(200, { account: body.account, signed_out: true });
}

async function refresh(call: Call): Promise<Reply> {
  jsonBody(call, false); // no body needed; a body of another type is still refused
  const account = call.params[0]!;
  const view = await call.deps.broker.keeper(account).refreshNow();
  return reply(200, {
    account: view.account,
    expires_at: new Date(view.expiresAt).toISOString(),
    expires_in: secondsLeft(view.expiresAt, call.deps.now()),
    user_id: view.userId,
    device_id: view.deviceId,
  });
}

function listClients(call: Call): Reply {
  return reply(200, call.deps.clients.list().map(clientJson));
}

async function addClient(call: Call): Promise<Reply> {
  const body = parse(addClientSchema, jsonBody(call, true));
  const secret = await call.deps.clients.add(body.name, body.accounts);
  const client = call.deps.clients.get(body.name)!;
  const known = new Set(call.deps.broker.accountNames());
  return reply(201, {
    ...clientJson(client),
    secret: secret.reveal(),
    unknown_accounts: client.accounts.filter((a) => a !== ALL_ACCOUNTS && !known.has(a)),
  });
}

async function revokeClient(call: Call): Promise<Reply> {
  const name = call.params[0]!;
  await call.deps.clients.revoke(name);
  return reply(200, { name, revoked: true });
}

export const adminRoutes: readonly Route[] = [
  { method: 'GET', path: '/v1/status', access: 'admin', handler: status },
  { method: 'POST', path: '/v1/admin/login', access: 'admin', handler: login },
  { method: 'POST', path: '/v1/admin/logout', access: 'admin', handler: logout },
  { method: 'POST', path: ACCOUNT_REFRESH, access: 'admin', handler: refresh },
  { method: 'GET', path: '/v1/admin/clients', access: 'admin', handler: listClients },
  { method: 'POST', path: '/v1/admin/clients', access: 'admin', handler: addClient },
  { method: 'DELETE', path: CLIENT, access: 'admin', handler: revokeClient },
];
