import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { call, rawExchange } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

const LIMIT = 64 * 1024;

describe('token service: browser and transport hardening', () => {
  let rig: Rig;
  let secret: string;
  before(async () => {
    rig = await startRig({
      limits: { headersTimeoutMs: 600, keepAliveTimeoutMs: 500, connectionsCheckingIntervalMs: 50 },
    });
    secret = await rig.addClient('alist', ['main']);
  });
  after(() => rig.stop());

  it('refuses any request carrying Origin, before looking at the secret', async () => {
    for (const origin of ['http://localhost', 'null', 'https://evil.example']) {
      const res = await call(rig.target, '/v1/accounts/main/token', { bearer: secret, headers: { origin } });
      assert.equal(res.status, 403, origin);
      assert.equal(res.json.error.code, 'browser_request_refused');
      assert.ok(!res.text.includes('access_token'));
    }
    const health = await call(rig.target, '/v1/health', { headers: { Origin: 'http://localhost:3000' } });
    assert.equal(health.status, 403, 'even the public endpoint');
  });

  it('refuses Sec-Fetch-* headers', async () => {
    for (const header of ['sec-fetch-site', 'Sec-Fetch-Mode', 'sec-fetch-dest', 'Sec-Fetch-User']) {
      const res = await call(rig.target, '/v1/accounts/main/token', {
        bearer: secret,
        headers: { [header]: 'same-origin' },
      });
      assert.equal(res.status, 403, header);
      assert.equal(res.json.error.code, 'browser_request_refused');
    }
  });

  it('refuses a Host that is not loopback (DNS rebinding)', async () => {
    for (const host of [
      'evil.example',
      'evil.example:80',
      '127.0.0.1.evil.example',
      '10.0.0.1',
      'localhost.evil',
      '[::2]',
    ]) {
      const res = await call(rig.target, '/v1/accounts/main/token', { bearer: secret, headers: { host } });
      assert.equal(res.status, 403, host);
      assert.equal(res.json.error.code, 'host_not_allowed');
    }
  });

  it('accepts a missing Host, localhost, 127.x.x.x, [::1] (any port) and the socket path', async () => {
    const noHost = await call(rig.target, '/v1/accounts/main/token', { bearer: secret, setHost: false });
    assert.equal(noHost.status, 200);
    for (const host of [
      'localhost',
      'LOCALHOST:8080',
      '127.0.0.1',
      '127.1.2.3:9',
      '[::1]',
      '[::1]:8080',
      rig.socketPath,
      encodeURIComponent(rig.socketPath),
    ]) {
      const res = await call(rig.target, '/v1/accounts/main/token', { bearer: secret, headers: { host } });
      assert.equal(res.status, 200, host);
    }
  });

  it('sees every header, however many come first (no header-count limit to slip past)', async () => {
    // A page may add custom headers before the browser's own. With a maxHeadersCount of 100,
    // Node 20 keeps headers in rawHeaders in batches of 32 until it holds 100 or more, so about
    // the first 124 survive and the rest are dropped (while the request is still framed by them):
    // 200 of padding put the last header well past that.
    const pad = Array.from({ length: 200 }, (_, i) => `X-Pad-${i}: 1\r\n`).join('');
    /** The answer's status and error code, e.g. `403 browser_request_refused`. */
    const outcome = async (head: string): Promise<string> => {
      const { text } = await rawExchange(rig.target, (s) => {
        s.write(`${head}Connection: close\r\n\r\n`);
      });
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 'no answer';
      const code = /"code":"(\w+)"/.exec(text)?.[1];
      return `${status} ${code ?? (text.includes('access_token') ? 'with a token' : 'without a code')}`;
    };
    const bearer = `Authorization: Bearer ${secret}\r\n`;
    const token = `GET /v1/accounts/main/token HTTP/1.1\r\nHost: localhost\r\n${bearer}`;
    assert.deepEqual(
      {
        origin: await outcome(`${token}${pad}Origin: https://evil.example\r\n`),
        secFetch: await outcome(`${token}${pad}Sec-Fetch-Site: cross-site\r\n`),
        rebinding: await outcome(
          `GET /v1/accounts/main/token HTTP/1.1\r\n${bearer}${pad}Host: evil.example\r\n`,
        ),
        secondAuthorization: await outcome(`${token}${pad}Authorization: Bearer other\r\n`),
        // The body is never sent: a declared length over the limit is refused before any is read.
        largeBody: await outcome(
          `POST /v1/accounts/main/token/rejected HTTP/1.1\r\nHost: localhost\r\n${bearer}` +
            `Content-Type: application/json\r\n${pad}Content-Length: ${LIMIT + 1}\r\n`,
        ),
      },
      {
        origin: '403 browser_request_refused',
        secFetch: '403 browser_request_refused',
        rebinding: '403 host_not_allowed',
        secondAuthorization: '400 bad_request',
        largeBody: '413 body_too_large',
      },
    );
  });

  it('an Expect other than 100-continue gets a JSON 417 and the connection is closed', async () => {
    const res = await rawExchange(rig.target, (s) => {
      s.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\nExpect: something-else\r\n\r\n');
    });
    const [head = '', body = ''] = res.text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 417 /);
    assert.match(head, /\r\nconnection: close(\r\n|$)/i);
    assert.match(head, /\r\ncontent-type: application\/json/i);
    assert.equal(JSON.parse(body).error.code, 'expectation_failed');
    assert.ok(res.closed);
  });

  it('a repeated Authorization header is a 400, not a guess', async () => {
    const res = await rawExchange(rig.target, (s) => {
      s.write(
        `GET /v1/accounts/main/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\n` +
          `Authorization: Bearer other\r\nConnection: close\r\n\r\n`,
      );
    });
    assert.match(res.text, /^HTTP\/1\.1 400 /);
    assert.match(res.text, /"bad_request"/);
  });

  it('a declared body over 64 KiB is refused with 413 without reading it', async () => {
    const res = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: secret,
      body: Buffer.alloc(LIMIT + 1, 0x61),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'body_too_large');
    assert.equal(res.headers.connection, 'close');
  });

  it('a chunked body over 64 KiB is counted while it streams and refused with 413', async () => {
    const res = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: secret,
      body: Buffer.alloc(LIMIT + 1, 0x61),
      chunked: true,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'body_too_large');
  });

  it('a body of exactly 64 KiB is read (and then judged on its content)', async () => {
    const json = JSON.stringify({ access_token: 'x', pad: '' });
    const padded = json.replace('"pad":""', `"pad":"${'a'.repeat(LIMIT - json.length)}"`);
    assert.equal(padded.length, LIMIT);
    for (const chunked of [false, true]) {
      const res = await call(rig.target, '/v1/accounts/main/token/rejected', {
        bearer: secret,
        body: padded,
        chunked,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200, `chunked=${chunked}`);
    }
  });

  it('a body that lies about its length (more bytes than declared) cannot exceed the limit', async () => {
    // Content-Length is what HTTP framing follows: extra bytes are the next "request", which is garbage.
    const res = await rawExchange(rig.target, (s) => {
      s.write(
        `POST /v1/accounts/main/token/rejected HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}${'x'.repeat(LIMIT * 2)}`,
      );
    });
    // The short body alone is judged (400: no access_token) or the parser refuses the rest first
    // and drops the connection; either way nothing is served and the socket is closed.
    assert.ok(!res.text.includes(' 200 '), res.text.slice(0, 200));
    assert.ok(!res.text.includes('access_token'), 'no token handed out');
    assert.ok(res.closed);
  });

  it('disconnects a client that sends its headers slower than headersTimeout', async () => {
    const started = Date.now();
    const request = `GET /v1/accounts/main/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\n\r\n`;
    let sent = 0;
    const res = await rawExchange(rig.target, async (s) => {
      for (const ch of request) {
        if (s.destroyed || !s.writable) return;
        s.write(ch);
        sent += 1;
        await sleep(40);
      }
    });
    const took = Date.now() - started;
    assert.ok(
      sent < request.length,
      `the server must cut the client off before it finished (${sent}/${request.length})`,
    );
    assert.ok(took < 3000, `cut off after ${took} ms`);
    assert.match(res.text, /^HTTP\/1\.1 408 /);
    assert.match(res.text, /"request_timeout"/);
    assert.ok(!res.text.includes('access_token'));
  });

  it('closes a connection that sends nothing at all', async () => {
    const started = Date.now();
    const res = await rawExchange(rig.target, () => undefined);
    assert.ok(res.closed);
    assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
  });

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    const started = Date.now();
    const res = await rawExchange(rig.target, (s) => {
      s.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    assert.match(res.text, /^HTTP\/1\.1 200 /);
    assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
  });

  it('malformed HTTP gets a short JSON 400, no stack trace', async () => {
    const res = await rawExchange(rig.target, (s) => {
      s.write('THIS IS NOT HTTP\r\n\r\n');
    });
    assert.match(res.text, /^HTTP\/1\.1 400 /);
    assert.match(res.text, /\{"error":\{"code":"bad_request"/);
    assert.ok(!/at \w+ \(/.test(res.text), 'no stack');
  });

  it('oversized headers get 431', async () => {
    const res = await rawExchange(rig.target, (s) => {
      s.write(`GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    });
    assert.match(res.text, /^HTTP\/1\.1 431 /);
  });
});

describe('token service: bounded connections', () => {
  it('refuses connections beyond maxConnections', async () => {
    const rig = await startRig({ limits: { maxConnections: 2 } });
    try {
      const secret = await rig.addClient('c', ['main']);
      const { connect } = await import('node:net');
      const held = [connect(rig.socketPath), connect(rig.socketPath)];
      await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
      await sleep(50);
      const third = await call(rig.target, '/v1/accounts/main/token', { bearer: secret }).then(
        (r) => r.status,
        (e: NodeJS.ErrnoException) => e.code,
      );
      assert.notEqual(third, 200, 'a third connection is not served');
      assert.equal(third, 503, 'it is told so (503 with Retry-After), not reset');
      for (const s of held) s.destroy();
      await sleep(50);
      assert.equal((await call(rig.target, '/v1/accounts/main/token', { bearer: secret })).status, 200);
    } finally {
      await rig.stop();
    }
  });
});
