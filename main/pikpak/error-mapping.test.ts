/**
 * Every branch of error-mapping.ts, driven through PikPakClient with a scripted axios adapter
 * (no sockets): PikPak error bodies, HTTP statuses, garbage, Retry-After and transport failures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Secret } from '../core/secret.js';
import { PikPakClient, type PikPakClientOptions } from './client.js';
import { parseRetryAfter } from './error-mapping.js';
import {
  AccessTokenExpiredError,
  CaptchaExpiredError,
  CaptchaRequiredError,
  InvalidGrantError,
  type PikPakError,
  PikPakRejectedError,
  RateLimitedError,
  TransientError,
} from './errors/index.js';
import { INVALID_GRANT_DESCRIPTION } from './protocol.js';
import { fakeHttp, hangUntilAborted, json, transportError, type FakeHandler } from './testing/fake-axios.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function client(handler: FakeHandler, options: PikPakClientOptions = {}) {
  const http = fakeHttp(handler);
  return {
    pikpak: new PikPakClient({ axiosInstance: http.instance, now: () => NOW, ...options }),
    sent: http.sent,
  };
}

const refresh = (pikpak: PikPakClient) =>
  pikpak.refresh({ platform: 'web', refreshToken: new Secret('rt-1') });
const signIn = (pikpak: PikPakClient) =>
  pikpak.signIn({
    platform: 'android',
    username: 'alice@example.com',
    password: new Secret('pw'),
    deviceId: 'dev',
    captchaToken: 'ck',
  });
const check = (pikpak: PikPakClient) =>
  pikpak.checkAccessToken({ platform: 'pc', accessToken: new Secret('at'), deviceId: 'dev' });

const TOKEN_BODY = {
  token_type: 'Bearer',
  access_token: 'at-2',
  refresh_token: 'rt-2',
  expires_in: 7200,
  sub: 'user-1',
};

/** Asserts the promise rejects with an instance of `type` and returns it for further checks. */
async function rejectsWith<T extends PikPakError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

describe('PikPak error bodies', () => {
  it('4126 on refresh → InvalidGrantError with a useful message', async () => {
    const { pikpak } = client(() =>
      json(400, { error: 'invalid_grant', error_code: 4126, error_description: INVALID_GRANT_DESCRIPTION }),
    );
    const err = await rejectsWith(refresh(pikpak), InvalidGrantError);
    assert.equal(
      err.message,
      'PikPak rejected the refresh token (4126): invalid refresh token, may be has been refreshed by other process',
    );
    assert.equal(err.pikpakCode, 4126);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.retryable, false);
    assert.equal(err.code, 'invalid_grant');
    assert.equal(err.name, 'InvalidGrantError');
  });

  it('`error: "invalid_grant"` without a code on refresh (oauth2 style, "redis: nil") → InvalidGrantError', async () => {
    const { pikpak } = client(() => json(400, { error: 'invalid_grant', error_description: 'redis: nil' }));
    const err = await rejectsWith(refresh(pikpak), InvalidGrantError);
    assert.equal(err.message, 'PikPak rejected the refresh token (invalid_grant): redis: nil');
    assert.equal(err.pikpakCode, undefined);
  });

  it('`error: "invalid_grant"` with another code on refresh → InvalidGrantError', async () => {
    const { pikpak } = client(() =>
      json(400, { error: 'invalid_grant', error_code: 4001, error_description: 'x' }),
    );
    const err = await rejectsWith(refresh(pikpak), InvalidGrantError);
    assert.equal(err.pikpakCode, 4001);
  });

  it('error_code sent as a string still maps ("4126")', async () => {
    const { pikpak } = client(() => json(400, { error: 'invalid_grant', error_code: '4126' }));
    const err = await rejectsWith(refresh(pikpak), InvalidGrantError);
    assert.equal(err.pikpakCode, 4126);
    assert.equal(err.message, 'PikPak rejected the refresh token (4126)');
  });

  it('a 4126 inside a 200 answer is still an InvalidGrantError, not a token', async () => {
    const { pikpak } = client(() => json(200, { error: 'invalid_grant', error_code: 4126 }));
    await rejectsWith(refresh(pikpak), InvalidGrantError);
  });

  it('`error: "invalid_grant"` without 4126 on sign-in is a rejection, not a dead refresh token', async () => {
    const { pikpak } = client(() =>
      json(400, { error: 'invalid_grant', error_description: 'bad credentials' }),
    );
    const err = await rejectsWith(signIn(pikpak), PikPakRejectedError);
    assert.equal(err.error, 'invalid_grant');
    assert.equal(err.message, 'PikPak rejected the sign-in (invalid_grant): bad credentials');
  });

  for (const code of [16, 4121, 4122]) {
    it(`${code} → AccessTokenExpiredError`, async () => {
      const { pikpak } = client(() =>
        json(401, { error: 'unauthenticated', error_code: code, error_description: 'token is expired' }),
      );
      const err = await rejectsWith(check(pikpak), AccessTokenExpiredError);
      assert.equal(err.pikpakCode, code);
      assert.equal(err.httpStatus, 401);
      assert.equal(
        err.message,
        `PikPak says the access token is expired or invalid (${code}): token is expired`,
      );
    });
  }

  it('9 → CaptchaExpiredError', async () => {
    const { pikpak } = client(() =>
      json(400, { error: 'captcha_invalid', error_code: 9, error_description: 'captcha_token expired' }),
    );
    const err = await rejectsWith(signIn(pikpak), CaptchaExpiredError);
    assert.equal(err.pikpakCode, 9);
    assert.equal(err.retryable, true);
    assert.match(err.message, /captcha token has expired \(9\): captcha_token expired/);
  });

  it('10 → RateLimitedError, with Retry-After in seconds', async () => {
    const { pikpak } = client(() =>
      json(400, { error: 'aborted', error_code: 10, error_description: '操作频繁' }, { 'Retry-After': '30' }),
    );
    const err = await rejectsWith(refresh(pikpak), RateLimitedError);
    assert.equal(err.pikpakCode, 10);
    assert.equal(err.retryAfterMs, 30_000);
    assert.equal(err.message, 'PikPak is rate limiting the token refresh (10): 操作频繁; retry after 30 s');
  });

  it('10 without Retry-After → RateLimitedError with no hint', async () => {
    const { pikpak } = client(() => json(200, { error: 'aborted', error_code: 10 }));
    const err = await rejectsWith(refresh(pikpak), RateLimitedError);
    assert.equal(err.retryAfterMs, undefined);
  });

  it('other 4xx PikPak errors → PikPakRejectedError carrying PikPak’s error name', async () => {
    const { pikpak } = client(() =>
      json(400, {
        error: 'invalid_account_or_password',
        error_code: 4022,
        error_description: 'Invalid username or password',
      }),
    );
    const err = await rejectsWith(signIn(pikpak), PikPakRejectedError);
    assert.equal(err.error, 'invalid_account_or_password');
    assert.equal(err.pikpakCode, 4022);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.retryable, false);
    assert.equal(
      err.message,
      'PikPak rejected the sign-in (invalid_account_or_password, 4022): Invalid username or password',
    );
  });

  it('a PikPak error body on a 5xx → TransientError(server) keeping the code', async () => {
    const { pikpak } = client(() =>
      json(503, { error: 'unavailable', error_code: 14, error_description: 'busy' }),
    );
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'server');
    assert.equal(err.pikpakCode, 14);
    assert.equal(err.message, 'PikPak answered the token refresh with HTTP 503 (unavailable, 14): busy');
  });

  it('descriptions are made one line and bounded', async () => {
    const long = `first line\r\nsecond\u0000line ${'x'.repeat(1000)}`;
    const { pikpak } = client(() => json(400, { error: 'weird', error_code: 1234, error_description: long }));
    const err = await rejectsWith(signIn(pikpak), PikPakRejectedError);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(err.message, /[\r\n\u0000]/);
    assert.match(err.message, /first line second line x+…$/);
    assert.ok(err.message.length < 400, `message is ${err.message.length} chars`);
  });
});

describe('HTTP statuses without a PikPak error body', () => {
  it('429 → RateLimitedError honouring an HTTP-date Retry-After (relative to the injected clock)', async () => {
    const at = new Date(NOW + 90_000).toUTCString();
    const { pikpak } = client(() => ({
      status: 429,
      data: 'Too Many Requests',
      headers: { 'retry-after': at },
    }));
    const err = await rejectsWith(refresh(pikpak), RateLimitedError);
    assert.equal(err.httpStatus, 429);
    assert.equal(err.retryAfterMs, 90_000);
    assert.equal(err.message, 'PikPak is rate limiting the token refresh (HTTP 429); retry after 90 s');
  });

  it('429 with an unreadable Retry-After → RateLimitedError without a hint', async () => {
    const { pikpak } = client(() => ({ status: 429, data: '', headers: { 'retry-after': 'soon-ish' } }));
    const err = await rejectsWith(refresh(pikpak), RateLimitedError);
    assert.equal(err.retryAfterMs, undefined);
  });

  it('429 with a PikPak body of another code is still rate limiting', async () => {
    const { pikpak } = client(() =>
      json(429, { error: 'too_many', error_code: 4999 }, { 'retry-after': '2' }),
    );
    const err = await rejectsWith(refresh(pikpak), RateLimitedError);
    assert.equal(err.retryAfterMs, 2000);
    assert.equal(err.pikpakCode, 4999);
  });

  for (const status of [500, 502, 503, 504]) {
    it(`${status} with an HTML body → TransientError(server)`, async () => {
      const { pikpak } = client(() => ({ status, data: '<html><body>Bad Gateway</body></html>' }));
      const err = await rejectsWith(refresh(pikpak), TransientError);
      assert.equal(err.reason, 'server');
      assert.equal(err.delivery, 'answered', 'a 5xx is an answer: nothing was granted');
      assert.equal(err.httpStatus, status);
      assert.equal(err.retryable, true);
      assert.equal(err.message, `PikPak answered the token refresh with HTTP ${status}`);
    });
  }

  it('404 without a PikPak body → TransientError(bad-response) (says nothing about credentials)', async () => {
    const { pikpak } = client(() => ({ status: 404, data: 'Not Found' }));
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'bad-response');
    assert.equal(err.httpStatus, 404);
  });

  it('a redirect is not followed and is a bad response', async () => {
    const { pikpak, sent } = client(() => ({
      status: 302,
      data: '',
      headers: { location: 'https://evil.example/' },
    }));
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'bad-response');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.config.maxRedirects, 0);
  });
});

describe('2xx answers that are not the expected JSON → TransientError(bad-response)', () => {
  const garbage: [string, unknown, RegExp][] = [
    ['HTML', '<!doctype html><title>captive portal</title>', /body is not JSON/],
    ['empty body', '', /empty body/],
    ['truncated JSON', '{"access_token":"at-2","refresh_tok', /body is not JSON/],
    ['a JSON array', '[1,2,3]', /unexpected shape/],
    ['a JSON string', '"ok"', /unexpected shape/],
    ['null', 'null', /unexpected shape/],
    ['missing refresh_token', JSON.stringify({ ...TOKEN_BODY, refresh_token: undefined }), /refresh_token/],
    ['empty access_token', JSON.stringify({ ...TOKEN_BODY, access_token: '' }), /access_token/],
    ['expires_in as a string', JSON.stringify({ ...TOKEN_BODY, expires_in: '7200' }), /expires_in/],
    ['negative expires_in', JSON.stringify({ ...TOKEN_BODY, expires_in: -1 }), /expires_in/],
    ['missing sub', JSON.stringify({ ...TOKEN_BODY, sub: undefined }), /sub/],
    ['binary noise', Buffer.from([0xff, 0xfe, 0x00, 0x81]), /body is not JSON/],
  ];
  for (const [name, data, why] of garbage) {
    it(name, async () => {
      const { pikpak } = client(() => ({ status: 200, data }));
      const err = await rejectsWith(refresh(pikpak), TransientError);
      assert.equal(err.reason, 'bad-response');
      // A 2xx PikPak may have answered with a grant we cannot read: the token may be spent.
      assert.equal(err.delivery, 'unknown');
      assert.equal(err.httpStatus, 200);
      assert.match(
        err.message,
        /^PikPak answered the token refresh with HTTP 200, but not with the expected JSON/,
      );
      assert.match(err.message, why);
    });
  }

  it('names the failing field but never echoes its value', async () => {
    const { pikpak } = client(() => json(200, { ...TOKEN_BODY, expires_in: 'VALUE-MUST-NOT-APPEAR' }));
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.match(err.message, /expires_in: invalid_type/);
    assert.doesNotMatch(err.message, /VALUE-MUST-NOT-APPEAR/);
  });

  it('an already-parsed object from an adapter is accepted (no double parsing)', async () => {
    const { pikpak } = client(() => ({ status: 200, data: TOKEN_BODY }));
    const tokens = await refresh(pikpak);
    assert.equal(tokens.refreshToken.reveal(), 'rt-2');
  });

  it('captcha answer with neither url nor token', async () => {
    const { pikpak } = client(() => json(200, { expires_in: 300 }));
    const err = await rejectsWith(
      pikpak.captchaForSignin({ platform: 'web', deviceId: 'dev', username: 'alice@example.com' }),
      TransientError,
    );
    assert.equal(err.reason, 'bad-response');
    assert.match(err.message, /captcha_token/);
  });

  it('a challenge url that is not an http(s) page is refused', async () => {
    const { pikpak } = client(() =>
      json(200, { captcha_token: '', expires_in: 300, url: 'javascript:alert(1)' }),
    );
    const err = await rejectsWith(
      pikpak.captchaForSignin({ platform: 'web', deviceId: 'dev', username: 'alice@example.com' }),
      TransientError,
    );
    assert.equal(err.reason, 'bad-response');
    assert.match(err.message, /url/);
  });

  it('a non-empty challenge url → CaptchaRequiredError(url), once', async () => {
    const url = 'https://user.mypikpak.net/captcha/v2/spritePuzzle.html?action=POST%3A%2Fv1%2Fauth%2Fsignin';
    const { pikpak, sent } = client(() => json(200, { captcha_token: 'ck0.partial', expires_in: 300, url }));
    const err = await rejectsWith(
      pikpak.signInWithCaptcha({
        platform: 'web',
        username: 'alice@example.com',
        password: new Secret('pw'),
        deviceId: 'dev',
      }),
      CaptchaRequiredError,
    );
    assert.equal(err.url, url);
    assert.equal(sent.length, 1, 'no sign-in attempt and no second captcha init after a challenge');
  });
});

describe('transport failures', () => {
  // The last column: what the failure proves about the request (a refresh token it carried).
  const network: [string, string, string | undefined, 'not-sent' | 'unknown'][] = [
    ['connection refused', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443', 'not-sent'],
    ['connection reset', 'ECONNRESET', 'read ECONNRESET', 'unknown'],
    ['socket hang up', 'ECONNRESET', 'socket hang up', 'unknown'],
    ['DNS: no such host', 'ENOTFOUND', 'getaddrinfo ENOTFOUND user.mypikpak.net', 'not-sent'],
    ['DNS: try again', 'EAI_AGAIN', 'getaddrinfo EAI_AGAIN user.mypikpak.net', 'not-sent'],
    ['host unreachable', 'EHOSTUNREACH', undefined, 'not-sent'],
    ['network unreachable', 'ENETUNREACH', undefined, 'not-sent'],
    ['broken pipe', 'EPIPE', undefined, 'unknown'],
    ['TLS: unknown CA', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', undefined, 'not-sent'],
    ['TLS: wrong host', 'ERR_TLS_CERT_ALTNAME_INVALID', undefined, 'not-sent'],
    ['TLS: bad record mid-stream', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', undefined, 'unknown'],
    ['body cut mid-answer', 'ERR_BAD_RESPONSE', 'stream has been aborted', 'unknown'],
    ['ECONNABORTED that is not a timeout (axios#1543)', 'ECONNABORTED', 'Request aborted', 'unknown'],
    ['cancelled by something other than the caller', 'ERR_CANCELED', 'canceled', 'unknown'],
  ];
  for (const [name, code, message, delivery] of network) {
    it(`${name} (${code}) → TransientError(network), delivery ${delivery}`, async () => {
      const { pikpak } = client((req) => {
        throw transportError(req, code, message);
      });
      const err = await rejectsWith(refresh(pikpak), TransientError);
      assert.equal(err.reason, 'network');
      assert.equal(err.delivery, delivery);
      assert.equal(err.httpStatus, undefined);
      assert.match(
        err.message,
        /^Could not reach PikPak for the token refresh \(POST https:\/\/user\.mypikpak\.net\/v1\/auth\/token\): /,
      );
      assert.deepEqual(err.cause, { code });
    });
  }

  it('ECONNREFUSED wrapped in an AggregateError (happy eyeballs) keeps the inner code', async () => {
    const { pikpak } = client((req) => {
      const inner = Object.assign(new Error('connect ECONNREFUSED ::1:443'), { code: 'ECONNREFUSED' });
      const aggregate = new AggregateError([inner], 'connect failed');
      const err = transportError(req, 'ERR_NETWORK', '');
      Object.assign(err, { cause: aggregate });
      (err as { errors?: unknown }).errors = aggregate.errors;
      throw err;
    });
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'network');
    assert.equal(err.delivery, 'not-sent', 'a refused connection never carried the request');
    assert.match(err.message, /ECONNREFUSED$/);
  });

  for (const [name, code, message] of [
    ['axios timeout with clarifyTimeoutError', 'ETIMEDOUT', 'timeout of 15000ms exceeded'],
    ['OS connect timeout', 'ETIMEDOUT', 'connect ETIMEDOUT 1.2.3.4:443'],
    ['legacy axios timeout code (axios#1543)', 'ECONNABORTED', 'timeout of 15000ms exceeded'],
    ['undici connect timeout', 'UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'],
  ] as const) {
    it(`${name} → TransientError(timeout)`, async () => {
      const { pikpak } = client((req) => {
        throw transportError(req, code, message);
      });
      const err = await rejectsWith(refresh(pikpak), TransientError);
      assert.equal(err.reason, 'timeout');
      assert.equal(err.delivery, 'unknown', 'PikPak may have handled a request whose answer never came');
      assert.equal(
        err.message,
        'PikPak did not answer the token refresh within 15000 ms (POST https://user.mypikpak.net/v1/auth/token)',
      );
    });
  }

  it('the client asks axios for a timeout and for clarified timeout errors', async () => {
    const { pikpak, sent } = client(() => json(200, TOKEN_BODY), { timeoutMs: 1234 });
    await refresh(pikpak);
    assert.equal(sent[0]!.config.timeout, 1234);
    assert.equal(sent[0]!.config.transitional?.clarifyTimeoutError, true);
  });

  it('an answer slower than timeoutMs (even if axios’ own timer never fires) → TransientError(timeout)', async () => {
    const { pikpak } = client((req) => hangUntilAborted(req), { timeoutMs: 50 });
    const started = Date.now();
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'timeout');
    assert.ok(Date.now() - started < 5000);
  });

  it('an abort by the caller’s signal rejects with the caller’s reason, not a timeout', async () => {
    const { pikpak } = client((req) => hangUntilAborted(req), { timeoutMs: 10_000 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const call = pikpak.refresh({
      platform: 'web',
      refreshToken: new Secret('rt-1'),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 10);
    await assert.rejects(call, (err) => err === reason);
  });

  it('an already-aborted signal sends nothing', async () => {
    const { pikpak, sent } = client(() => json(200, TOKEN_BODY));
    const reason = new Error('too late');
    await assert.rejects(
      pikpak.refresh({
        platform: 'web',
        refreshToken: new Secret('rt-1'),
        signal: AbortSignal.abort(reason),
      }),
      (err) => err === reason,
    );
    assert.equal(sent.length, 0);
  });

  it('an oversized answer → TransientError(bad-response)', async () => {
    const { pikpak } = client((req) => {
      throw transportError(req, 'ERR_BAD_RESPONSE', 'maxContentLength size of 1048576 exceeded');
    });
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'bad-response');
  });

  it('a reply that is not HTTP (HPE_*) → TransientError(bad-response)', async () => {
    const { pikpak } = client((req) => {
      throw transportError(req, 'HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/');
    });
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'bad-response');
    assert.match(err.message, /HPE_INVALID_CONSTANT/);
  });

  it('an AxiosError carrying a response (e.g. from an interceptor) is read like an answer', async () => {
    const { pikpak } = client((req) => {
      const err = transportError(req, 'ERR_BAD_REQUEST', 'Request failed with status code 400');
      err.response = {
        status: 400,
        statusText: 'Bad Request',
        headers: {},
        config: req.config,
        data: JSON.stringify({ error: 'invalid_grant', error_code: 4126 }),
      };
      throw err;
    });
    await rejectsWith(refresh(pikpak), InvalidGrantError);
  });

  it('a non-axios throw still leaves as a typed error', async () => {
    const { pikpak } = client(() => {
      throw new TypeError('something odd');
    });
    const err = await rejectsWith(refresh(pikpak), TransientError);
    assert.equal(err.reason, 'network');
    assert.match(err.message, /TypeError$/);
    assert.doesNotMatch(err.message, /something odd/);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds, fractional seconds and HTTP dates; ignores the rest', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter(' 0 ', NOW), 0);
    assert.equal(parseRetryAfter('1.5', NOW), 1500);
    assert.equal(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW), 5000);
    assert.equal(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW), 0, 'a date in the past means now');
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('', NOW), undefined);
    assert.equal(parseRetryAfter('-5', NOW), undefined);
    assert.equal(parseRetryAfter('later', NOW), undefined);
  });
});
