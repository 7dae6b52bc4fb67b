/**
 * Errors thrown by the provider never carry a secret, however they are printed: String(), message,
 * stack, JSON, util.inspect (hidden properties and causes included), util.format and a real
 * Console. Unique canary strings stand for the password, the refresh token, the client secret,
 * the access token and the captcha token; the fake server even echoes them back in its error
 * descriptions, and transport failures carry them in the AxiosError's config, as real ones do.
 */
import assert from 'node:assert/strict';
import { Console } from 'node:console';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import util from 'node:util';

import { Secret } from '../core/secret.js';
import { PikPakClient } from './client.js';
import { PikPakError } from './errors/index.js';
import { PRESETS } from './protocol.js';
import { fakeHttp, json, transportError, type FakeHandler } from './testing/fake-axios.js';

const PASSWORD = 'CANARY-PASSWORD-5c1e0b7d';
const REFRESH = 'CANARY-REFRESH-TOKEN-9a4f2e61';
const CLIENT_SECRET = 'CANARY-CLIENT-SECRET-3d8b7a02';
const ACCESS = 'CANARY-ACCESS-TOKEN-e27c4f90';
const CAPTCHA = 'CANARY-CAPTCHA-TOKEN-71b3d5aa';
const CANARIES = [PASSWORD, REFRESH, CLIENT_SECRET, ACCESS, CAPTCHA];
/** The real (public, but still never printed) client secrets. */
const REAL_SECRETS = [PRESETS.web.clientSecret, PRESETS.pc.clientSecret, PRESETS.android.clientSecret];

const presets = { web: { ...PRESETS.web, clientSecret: CLIENT_SECRET } };

/** Everything a developer or a logger might do with an error. */
function renderings(value: unknown): Record<string, string> {
  let consoleOut = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      consoleOut += chunk.toString();
      done();
    },
  });
  const console = new Console({ stdout: sink, stderr: sink, colorMode: false });
  console.error(value);
  console.log('failed: %s', value);
  console.log({ err: value });
  console.dir(value, { depth: 10, showHidden: true });
  const err = value as Error;
  return {
    string: String(value),
    template: `${err}`,
    message: err.message,
    stack: err.stack ?? '',
    json: JSON.stringify(value),
    jsonWrapped: JSON.stringify({ error: value, cause: err.cause }),
    inspect: util.inspect(value, { depth: 10 }),
    inspectHidden: util.inspect(value, { depth: 10, showHidden: true, getters: true }),
    inspectCause: util.inspect(err.cause, { depth: 10, showHidden: true }),
    format: util.format('%s | %o | %O | %j', value, value, value, value),
    console: consoleOut,
  };
}

function assertClean(error: unknown): void {
  assert.ok(error instanceof PikPakError, `expected a PikPakError, got ${String(error)}`);
  for (const [how, text] of Object.entries(renderings(error))) {
    for (const canary of [...CANARIES, ...REAL_SECRETS]) {
      assert.ok(!text.includes(canary), `${how} of ${error.name} contains a secret:\n${text}`);
    }
    assert.doesNotMatch(text, /AxiosError|InternalAxiosRequestConfig/, `${how} drags an AxiosError along`);
  }
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call was expected to fail');
}

/** A server that echoes everything it was sent back into PikPak's error description. */
function echo(status: number, extra: object = {}): FakeHandler {
  return (req) =>
    json(status, {
      error_description: `you sent ${req.rawBody ?? ''} with ${JSON.stringify(req.headers)}`,
      ...extra,
    });
}

function client(handler: FakeHandler, timeoutMs?: number) {
  const http = fakeHttp(handler);
  const pikpak = new PikPakClient({
    axiosInstance: http.instance,
    presets,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  return { pikpak, sent: http.sent };
}

const refresh = (pikpak: PikPakClient) =>
  pikpak.refresh({ platform: 'web', refreshToken: new Secret(REFRESH), deviceId: 'dev' });
const signIn = (pikpak: PikPakClient) =>
  pikpak.signIn({
    platform: 'web',
    username: 'alice@example.com',
    password: new Secret(PASSWORD),
    deviceId: 'dev',
    captchaToken: new Secret(CAPTCHA),
  });
const check = (pikpak: PikPakClient) =>
  pikpak.checkAccessToken({
    platform: 'web',
    accessToken: new Secret(ACCESS),
    deviceId: 'dev',
    captchaToken: new Secret(CAPTCHA),
  });

describe('errors from failed calls contain no secret', () => {
  it('control: the canaries really are on the wire and in a raw AxiosError', async () => {
    const { pikpak, sent } = client((req) => {
      throw transportError(req, 'ECONNRESET', 'socket hang up');
    });
    await failureOf(signIn(pikpak));
    assert.ok(sent[0]!.rawBody!.includes(PASSWORD));
    assert.ok(sent[0]!.rawBody!.includes(CLIENT_SECRET));
    assert.ok(sent[0]!.rawBody!.includes(CAPTCHA));
    // What leaks if the AxiosError itself escaped (or were attached as cause):
    const raw = transportError(sent[0]!, 'ECONNRESET', 'socket hang up');
    assert.ok(util.inspect(raw, { depth: 10 }).includes(PASSWORD));
    assert.ok(JSON.stringify(raw).includes(PASSWORD));
  });

  it('invalid_grant on refresh, with the token echoed back by the server', async () => {
    const error = await failureOf(
      refresh(client(echo(400, { error: 'invalid_grant', error_code: 4126 })).pikpak),
    );
    assert.equal((error as PikPakError).code, 'invalid_grant');
    assert.match(
      (error as Error).message,
      /\[redacted\]/,
      'the echoed secrets were scrubbed, not just absent',
    );
    assertClean(error);
  });

  it('wrong password on sign-in, with the body echoed back', async () => {
    const error = await failureOf(
      signIn(client(echo(400, { error: 'invalid_account_or_password', error_code: 4022 })).pikpak),
    );
    assert.equal((error as PikPakError).code, 'rejected');
    assertClean(error);
  });

  it('rate limiting, server errors and expired access tokens with echoes', async () => {
    assertClean(await failureOf(refresh(client(echo(429)).pikpak)));
    assertClean(await failureOf(refresh(client(echo(400, { error: 'aborted', error_code: 10 })).pikpak)));
    assertClean(await failureOf(signIn(client(echo(502, { error: 'internal', error_code: 13 })).pikpak)));
    assertClean(
      await failureOf(check(client(echo(401, { error: 'unauthenticated', error_code: 16 })).pikpak)),
    );
    assertClean(
      await failureOf(signIn(client(echo(400, { error: 'captcha_invalid', error_code: 9 })).pikpak)),
    );
  });

  it('a 2xx garbage answer that contains the secrets', async () => {
    const error = await failureOf(
      refresh(client((req) => ({ status: 200, data: `<html>${req.rawBody ?? ''}</html>` })).pikpak),
    );
    assert.equal((error as { reason?: string }).reason, 'bad-response');
    assertClean(error);
  });

  for (const code of [
    'ECONNREFUSED',
    'ECONNRESET',
    'ENOTFOUND',
    'ETIMEDOUT',
    'ERR_BAD_RESPONSE',
    'HPE_INVALID_CONSTANT',
  ]) {
    it(`transport failure ${code} (the AxiosError's config holds every secret)`, async () => {
      assertClean(
        await failureOf(
          refresh(
            client((req) => {
              throw transportError(req, code, `${code} while sending ${req.rawBody ?? ''}`);
            }).pikpak,
          ),
        ),
      );
      assertClean(
        await failureOf(
          signIn(
            client((req) => {
              throw transportError(req, code);
            }).pikpak,
          ),
        ),
      );
    });
  }
});

describe('real sockets: axios’ own errors never escape', () => {
  async function withServer(onSocket: (socket: Socket) => void, run: (url: string) => Promise<void>) {
    const server: Server = createServer(onSocket);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.close();
    }
  }

  it('a server that drops the connection (socket hang up)', async () => {
    await withServer(
      (socket) => socket.destroy(),
      async (url) => {
        const pikpak = new PikPakClient({ authBaseUrl: url, presets, proxy: false });
        const error = await failureOf(refresh(pikpak));
        assert.equal((error as { reason?: string }).reason, 'network');
        assertClean(error);
        assertClean(await failureOf(signIn(pikpak)));
      },
    );
  });

  it('a server that never answers (timeout)', async () => {
    const sockets: Socket[] = [];
    await withServer(
      (socket) => {
        sockets.push(socket);
        socket.resume();
      },
      async (url) => {
        const pikpak = new PikPakClient({ authBaseUrl: url, presets, proxy: false, timeoutMs: 150 });
        const error = await failureOf(signIn(pikpak));
        assert.equal((error as { reason?: string }).reason, 'timeout');
        assertClean(error);
        for (const s of sockets) s.destroy();
      },
    );
  });

  it('a server that answers something that is not HTTP', async () => {
    await withServer(
      (socket) => {
        socket.once('data', () => socket.end(`SSH-2.0-OpenSSH ${PASSWORD}\r\n\r\n`));
      },
      async (url) => {
        const pikpak = new PikPakClient({ authBaseUrl: url, presets, proxy: false });
        assertClean(await failureOf(signIn(pikpak)));
      },
    );
  });

  it('connection refused', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const pikpak = new PikPakClient({ authBaseUrl: `http://127.0.0.1:${port}`, presets, proxy: false });
    const error = await failureOf(refresh(pikpak));
    assert.equal((error as { reason?: string }).reason, 'network');
    assert.match((error as Error).message, /ECONNREFUSED/);
    assertClean(error);
  });
});

describe('Secret', () => {
  const secret = new Secret(REFRESH);
  it('reveals only through reveal()', () => {
    assert.equal(secret.reveal(), REFRESH);
  });
  it('is redacted by String, JSON, inspect, template literals, concatenation, format and console', () => {
    const forms = {
      string: String(secret),
      template: `${secret}`,
      concat: 'x' + secret,
      json: JSON.stringify({ token: secret, nested: [secret] }),
      inspect: util.inspect(secret, { depth: 10, showHidden: true }),
      inspectObject: util.inspect({ tokens: { refreshToken: secret } }, { depth: 10, showHidden: true }),
      format: util.format('%s %o %O %j %d', secret, secret, secret, { secret }, secret),
      console: renderings(secret)['console']!,
    };
    for (const [how, text] of Object.entries(forms)) {
      assert.ok(!text.includes(REFRESH), `${how}: ${text}`);
      assert.ok(text.includes('redacted') || how === 'format', `${how} should say it is redacted: ${text}`);
    }
  });
  it('a TokenSet from a successful call prints redacted', async () => {
    const { pikpak } = client(() =>
      json(200, {
        token_type: 'Bearer',
        access_token: ACCESS,
        refresh_token: REFRESH,
        expires_in: 60,
        sub: 'u',
      }),
    );
    const tokens = await refresh(pikpak);
    const text = [
      util.inspect(tokens, { depth: 10 }),
      JSON.stringify(tokens),
      `${String(tokens.refreshToken)}`,
    ].join('\n');
    assert.ok(!text.includes(REFRESH) && !text.includes(ACCESS), text);
    assert.equal(tokens.refreshToken.reveal(), REFRESH);
  });
});
