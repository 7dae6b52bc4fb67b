/**
 * The token service's side of client approval (see client-requests.ts): a consumer without a
 * secret asks for one and polls until the owner decided in the tray app. Both routes are public;
 * the poll authenticates with the request id as its bearer, so the id never appears in a path
 * (paths are logged).
 *
 * The submit answer is the same 202 for every well-formed request (no oracle on accounts or
 * client names; see client-requests.ts). Each is logged with who asked: the listener, the
 * connection and, on TCP, the peer's port (Node cannot read a Unix socket peer's uid; the socket
 * is owner-only, so its callers are the owner's processes).
 *
 *   POST /v1/client-requests   {"name":"alist","account":"main"}
 *     → 202 {"request_id","code","status":"pending","expires_at","poll","poll_interval"}
 *   GET  /v1/client-requests/status   Authorization: Bearer <request_id>
 *     → 202 {"status":"pending",…} · 200 {"status":"approved","name","accounts","secret"} (once)
 *     · 403 request_denied / request_expired · 404 request_not_found
 */
import * as v from 'valibot';
import { issueMessage, issuePath } from '../validation/issues.js';
import { bearerOf, digestOf } from './bearer.js';
import { ClientRequestError, type ClientRequests, type Requester } from './client-requests.js';
import { connectionOf, describePeer } from './connection-gate.js';
import { jsonBody } from './consumer-routes.js';
import { HttpError } from './http-error.js';
import { reply, type Call, type Reply, type Route } from './route.js';

export const CLIENT_REQUESTS_PATH = '/v1/client-requests';
export const CLIENT_REQUEST_STATUS_PATH = '/v1/client-requests/status';
const POLL_INTERVAL_SECONDS = 2;

const submitSchema = v.object({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  account: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
});

function httpErrorOfRequest(error: ClientRequestError): HttpError {
  switch (error.code) {
    case 'invalid_client':
      return new HttpError(400, 'invalid_client', error.message);
    case 'cannot_approve':
      return new HttpError(409, 'cannot_approve', error.message);
    case 'too_many_requests':
      return new HttpError(429, 'too_many_requests', error.message, { headers: { 'retry-after': '60' } });
    case 'request_not_found':
      return new HttpError(404, 'request_not_found', error.message);
  }
}

/** The caller as the queue's bounds see it: its listener's pool, its connection, owner or not. */
const unGated = new WeakMap<object, number>();
let unGatedIds = 0;

function requesterOf(call: Call): Requester {
  const info = connectionOf(call.req.socket);
  // A server without a gate (tests) still tells its connections apart.
  const key = info
    ? `${info.id}`
    : `ungated-${unGated.get(call.req.socket) ?? unGated.set(call.req.socket, ++unGatedIds).get(call.req.socket)!}`;
  const bearer = bearerOf(call.headers.authorization);
  const owner = bearer !== undefined && call.deps.admin.matchesDigest(digestOf(bearer));
  return {
    pool: info?.listener ?? 'unknown',
    key,
    owner,
    describe: { ...describePeer(info), ...(owner ? { owner: true } : {}) },
  };
}

export function clientRequestRoutes(requests: ClientRequests): readonly Route[] {
  const submit = (call: Call): Reply => {
    const parsed = v.safeParse(submitSchema, jsonBody(call, true));
    if (!parsed.success) {
      const issue = parsed.issues[0];
      throw new HttpError(400, 'bad_request', `${issuePath(issue)}: ${issueMessage(issue)}`);
    }
    let submitted;
    try {
      submitted = requests.submit(parsed.output, requesterOf(call));
    } catch (error) {
      if (error instanceof ClientRequestError) throw httpErrorOfRequest(error);
      throw error;
    }
    return reply(202, {
      request_id: submitted.requestId.reveal(),
      code: submitted.code,
      status: 'pending',
      expires_at: new Date(submitted.expiresAt).toISOString(),
      poll: CLIENT_REQUEST_STATUS_PATH,
      poll_interval: POLL_INTERVAL_SECONDS,
      message: `Waiting for approval: the PikPak Token Broker app shows "${parsed.output.name}" asking for "${parsed.output.account}" with code ${submitted.code}. Poll ${CLIENT_REQUEST_STATUS_PATH} with "Authorization: Bearer <request_id>".`,
    });
  };

  const poll = (call: Call): Reply => {
    const requestId = bearerOf(call.headers.authorization);
    if (requestId === undefined)
      throw new HttpError(
        401,
        'unauthorized',
        'Send the request id as "Authorization: Bearer <request_id>".',
        {
          headers: { 'www-authenticate': 'Bearer realm="pikpak-token-broker"' },
        },
      );
    const result = requests.poll(requestId);
    switch (result.status) {
      case 'pending':
        return reply(
          202,
          { status: 'pending', code: result.code, expires_at: new Date(result.expiresAt).toISOString() },
          { 'retry-after': String(POLL_INTERVAL_SECONDS) },
        );
      case 'approved':
        return reply(200, {
          status: 'approved',
          name: result.name,
          accounts: result.accounts,
          secret: result.secret.reveal(),
        });
      case 'denied':
        throw new HttpError(403, 'request_denied', 'The owner denied this request.');
      case 'expired':
        throw new HttpError(403, 'request_expired', 'Nobody approved this request in time; ask again.');
      case 'unknown':
        throw new HttpError(
          404,
          'request_not_found',
          'No such request (it was answered already, or it is too old).',
        );
    }
  };

  return [
    { method: 'POST', path: CLIENT_REQUESTS_PATH, access: 'public', handler: submit },
    { method: 'GET', path: CLIENT_REQUEST_STATUS_PATH, access: 'public', handler: poll },
  ];
}
