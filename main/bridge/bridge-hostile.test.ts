import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { PRESETS } from '../pikpak/protocol.js';
import { BridgeAddressError } from './errors.js';
import { startBridge } from './proxy-server.js';
import { httpsThrough, proxyAuthorization, rawConnect, readToEnd, sendRaw } from './testing/proxy-client.js';
import { startBridgeRig, type BridgeRig } from './testing/bridge-rig.js';

describe('bridge: listens on loopback only', () => {
  let rig: BridgeRig;
  before(async () => (rig = await startBridgeRig()));
  after(() => rig.stop());

  for (const [address, problem] of [
    ['0.0.0.0:0', 'not-loopback'],
    ['192.168.1.10:8080', 'not-loopback'],
    ['[::]:0', 'not-loopback'],
    ['example.com:80', 'not-loopback'],
    [':8080', 'syntax'],
    ['127.0.0.1', 'syntax'],
    ['127.0.0.1:99999', 'port'],
  ] as const)
    it(`refuses ${address}`, async () => {
      await assert.rejects(
        startBridge({ listen: address, compat: rig.compat, ca: rig.ca, log: rig.log }),
        (error: unknown) => {
          assert.ok(error instanceof BridgeAddressError);
          assert.equal(error.problem, problem);
          assert.match(error.message, problem === 'not-loopback' ? /loopback only/ : /not valid/);
          return true;
        },
      );
    });

  it('binds the loopback address it was given', async () => {
    assert.match(rig.bridge.address, /^127\.0\.0\.1:\d+$/);
    const localhost = await startBridge({
      listen: 'localhost:0',
      compat: rig.compat,
      ca: rig.ca,
      log: rig.log,
    });
    assert.match(localhost.address, /^127\.0\.0\.1:\d+$/);
    await localhost.close();
  });
});

describe('bridge: hostile input gets a clean error and never a crash', () => {
  let rig: BridgeRig;
  before(
    async () =>
      (rig = await startBridgeRig({
        limits: { headersTimeoutMs: 400, maxBodyBytes: 4096, maxHeaderBytes: 8192 },
      })),
  );
  after(() => rig.stop());

  const status = async (bytes: string | Buffer): Promise<number> => {
    const answer = await sendRaw(rig.bridge.port, bytes);
    await readToEnd(answer.socket, answer.rest); // and the bridge closes the connection
    return answer.status;
  };
  /** `status` of a request line and headers, sent with the rig client's proxy credentials. */
  const authed = (requestLine: string, rest = '\r\n'): Promise<number> =>
    status(`${requestLine}\r\nProxy-Authorization: ${proxyAuthorization(rig.secret)}\r\n${rest}`);

  /** A new connection still gets an answer: an intercepted token call, answered from the broker. */
  const assertStillServes = async (): Promise<void> => {
    const res = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
      host: 'user.mypikpak.net',
      path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
      ca: rig.ca.certPem,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rig.secret }),
    });
    assert.equal(res.status, 200);
  };

  it('refuses malformed CONNECT targets with 400 and closes', async () => {
    for (const target of [
      'foo',
      ':443',
      'host:0',
      'host:99999',
      'host:-1',
      '[zz::]:443',
      'a b:443',
      'user.mypikpak.net',
      'http://user.mypikpak.net:443',
      `${'a'.repeat(300)}:443`,
      '..:443',
    ])
      assert.equal(await authed(`CONNECT ${target} HTTP/1.1`), 400, target);
  });

  it('refuses every CONNECT and absolute-form request without valid credentials with 407, before reading its target', async () => {
    const before = rig.bridge.stats();
    const wrong = [
      '',
      `Proxy-Authorization: ${proxyAuthorization('pkb_not-a-real-secret')}\r\n`,
      `Proxy-Authorization: Bearer ${rig.secret}\r\n`,
      `Proxy-Authorization: Basic ${Buffer.from(rig.secret).toString('base64')}\r\n`, // no user:
      `Proxy-Authorization: ${proxyAuthorization(rig.secret.slice(0, -1))}\r\n`,
      `Proxy-Authorization: ${proxyAuthorization(rig.service.adminToken)}\r\n`,
    ];
    for (const credentials of wrong)
      for (const line of [
        'CONNECT user.mypikpak.net:443 HTTP/1.1',
        'CONNECT api-drive.mypikpak.net:443 HTTP/1.1',
        `CONNECT 127.0.0.1:${rig.bridge.port} HTTP/1.1`,
        'CONNECT foo HTTP/1.1',
        'GET http://user.mypikpak.net/v1/auth/token HTTP/1.1',
        `GET ${rig.emulator.url}/drive/v1/about HTTP/1.1`,
      ]) {
        const answer = await sendRaw(rig.bridge.port, `${line}\r\nHost: x\r\n${credentials}\r\n`);
        const rest = (await readToEnd(answer.socket, answer.rest)).toString();
        assert.equal(answer.status, 407, `${line} with ${JSON.stringify(credentials.slice(0, 30))}`);
        assert.match(answer.head, /\r\nProxy-Authenticate: Basic realm="pikpak-token-broker"/i);
        assert.match(rest, /HTTPS_PROXY=http:\/\/alist:SECRET@/);
        assert.ok(!rest.includes(rig.secret) && !rest.includes(rig.service.adminToken), 'a secret echoed');
      }
    const after = rig.bridge.stats();
    assert.equal(after.unauthorized - before.unauthorized, wrong.length * 6);
    assert.equal(after.tunnels, before.tunnels, 'nothing dialled');
    assert.equal(after.intercepted, before.intercepted);
    assert.equal(after.forwarded, before.forwarded, 'nothing forwarded');
    assert.equal(after.answered, before.answered, 'nothing answered');
  });

  it('refuses garbage, origin-form requests and bad request lines with 400', async () => {
    assert.equal(await status('garbage\r\n\r\n'), 400);
    assert.equal(await status(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00])), 400);
    assert.equal(await status('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 400);
    assert.equal(
      await status('GET https://user.mypikpak.net/v1/auth/token HTTP/1.1\r\nHost: x\r\n\r\n'),
      400,
    );
    assert.equal(await status('CONNECT user.mypikpak.net:443 HTTP/9.9\r\n\r\n'), 400);
  });

  it('refuses oversized heads with 431', async () => {
    assert.equal(await authed('CONNECT a:1 HTTP/1.1', `X-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431);
    const many = Array.from({ length: 2000 }, (_, i) => `X-${i}: 1\r\n`).join('');
    assert.equal(await authed('CONNECT a:1 HTTP/1.1', `${many}\r\n`), 431);
    // Without credentials too: the head is refused before anyone is asked for them.
    assert.equal(await status(`CONNECT a:1 HTTP/1.1\r\n${many}\r\n`), 431);
  });

  it('times out a head that never ends (slow loris) with 408', async () => {
    const started = Date.now();
    assert.equal(await status('CONNECT user.mypikpak.net:443 HTTP/1.1\r\nX-Slow: '), 408);
    assert.ok(Date.now() - started < 5_000);
  });

  it('drops a CONNECT to an auth host that then speaks no TLS, and one that speaks garbage TLS', async () => {
    const plain = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret);
    assert.equal(plain.status, 200);
    plain.socket.write('GET / HTTP/1.1\r\nHost: user.mypikpak.net\r\n\r\n');
    await readToEnd(plain.socket, plain.rest);
    const junk = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret);
    junk.socket.write(Buffer.from([0x16, 0x03, 0x03, 0x40, 0x00, ...Buffer.alloc(64, 0xff)]));
    await readToEnd(junk.socket, junk.rest);
  });

  /** Opens an intercepted TLS connection to user.mypikpak.net, writes `bytes`, reads until it closes. */
  async function insideIntercepted(bytes: string): Promise<string> {
    const raw = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret);
    const tls = tlsConnect({ socket: raw.socket, servername: 'user.mypikpak.net', ca: rig.ca.certPem });
    await new Promise((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => {
      let text = '';
      tls.setEncoding('utf8').on('data', (c: string) => (text += c));
      tls.once('close', () => resolve(text));
    });
    tls.write(bytes);
    return reply;
  }

  it('refuses garbage inside an intercepted connection with 400, and a CONNECT inside it', async () => {
    assert.match(await insideIntercepted('\x00\x01 not http\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(
      await insideIntercepted('CONNECT api-drive.mypikpak.net:443 HTTP/1.1\r\n\r\n'),
      /^HTTP\/1\.1 400/,
    );
  });

  it('refuses a CONNECT target with an empty label (`host..:443`) with 400 and dials nothing', async () => {
    const tunnels = rig.bridge.stats().tunnels;
    for (const target of ['user.mypikpak.net..:443', 'localhost..:443'])
      assert.equal(await authed(`CONNECT ${target} HTTP/1.1`), 400, target);
    assert.equal(rig.bridge.stats().tunnels, tunnels, 'no tunnel was opened');
  });

  it('refuses a target no URL parser accepts (`http://[/`) inside an intercepted connection with 400, and serves on', async () => {
    assert.match(
      await insideIntercepted('GET http://[/ HTTP/1.1\r\nHost: user.mypikpak.net\r\n\r\n'),
      /^HTTP\/1\.1 400 [^]*\r\n\r\nmalformed request target\n$/,
    );
    await assertStillServes();
  });

  it('forwards a plain request to an IPv6 literal (`http://[::1]:9/x`) and answers 502 for a closed port', async () => {
    const answer = await sendRaw(
      rig.bridge.port,
      'GET http://[::1]:9/x HTTP/1.1\r\nHost: [::1]:9\r\nConnection: close\r\n' +
        `Proxy-Authorization: ${proxyAuthorization(rig.secret)}\r\n\r\n`,
    );
    const body = (await readToEnd(answer.socket, answer.rest)).toString('utf8');
    assert.equal(answer.status, 502, answer.head);
    // The dial target kept its brackets exactly once: `[::1]:9`, not `[[::1]]:9`.
    assert.match(body, /\[::1\]:9 could not be reached/);
    await assertStillServes();
  });

  it('refuses an oversized token body with 413 in PikPak’s shape', async () => {
    const res = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
      host: 'user.mypikpak.net',
      path: '/v1/auth/token',
      ca: rig.ca.certPem,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: 'x'.repeat(10_000) }),
    });
    assert.equal(res.status, 413);
    assert.equal((res.json as { error: string }).error, 'invalid_argument');
  });

  it('handles a ClientHello sent in the same packet as the CONNECT (optimistic clients)', async () => {
    const socket = connect({ host: '127.0.0.1', port: rig.bridge.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const wire = optimisticConnect(socket, 'user.mypikpak.net:443', rig.secret);
    const tls = tlsConnect({ socket: wire, servername: 'user.mypikpak.net', ca: rig.ca.certPem });
    await new Promise((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    tls.end(
      'POST /v1/auth/token HTTP/1.1\r\nHost: user.mypikpak.net\r\nContent-Type: application/json\r\n' +
        `Content-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    const text = await new Promise<string>((resolve) => {
      let all = '';
      tls.setEncoding('utf8').on('data', (c: string) => (all += c));
      tls.once('close', () => resolve(all));
    });
    assert.match(text, /^HTTP\/1\.1 400/, 'answered from the broker (no grant_type)');
    assert.match(text, /grant_type must be refresh_token/);
  });

  it('survives a burst of junk connections and still answers a real token call', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        status(i % 2 ? `CONNECT x${i} HTTP/1.1\r\n\r\n` : `\x00\x00junk ${i}\r\n\r\n`).catch(() => 0),
      ),
    );
    const res = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
      host: 'user.mypikpak.net',
      path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
      ca: rig.ca.certPem,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rig.secret }),
    });
    assert.equal(res.status, 200);
    assert.ok(rig.bridge.stats().refused >= 40);
  });
});

describe('bridge: stopping', () => {
  it('closes idle and busy intercepted connections and tunnels, within the grace period', async () => {
    const rig = await startBridgeRig({ limits: { closeGraceMs: 300 } });
    try {
      // An intercepted keep-alive connection that already served a request, and one mid-request.
      const idle = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret);
      const idleTls = tlsConnect({
        socket: idle.socket,
        servername: 'user.mypikpak.net',
        ca: rig.ca.certPem,
      });
      await new Promise((resolve, reject) => idleTls.once('secureConnect', resolve).once('error', reject));
      const busy = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret);
      const busyTls = tlsConnect({
        socket: busy.socket,
        servername: 'user.mypikpak.net',
        ca: rig.ca.certPem,
      });
      await new Promise((resolve, reject) => busyTls.once('secureConnect', resolve).once('error', reject));
      busyTls.write(
        'POST /v1/auth/token HTTP/1.1\r\nHost: user.mypikpak.net\r\nContent-Length: 100\r\n\r\n{',
      );
      const tunnel = await rawConnect(rig.bridge.port, 'api-drive.mypikpak.net:443', rig.secret);
      const closed = (s: Duplex) =>
        new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
      const started = Date.now();
      await rig.bridge.close();
      await Promise.all([closed(idleTls), closed(busyTls), closed(tunnel.socket)]);
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
      await assert.rejects(rawConnect(rig.bridge.port, 'user.mypikpak.net:443', rig.secret));
    } finally {
      await rig.stop();
    }
  });
});

/**
 * A stream for tls.connect that sends `CONNECT target` in front of the first bytes written (the
 * ClientHello: one packet) and hides the proxy's `200` head from the TLS client.
 */
function optimisticConnect(socket: Socket, target: string, secret: string): Duplex {
  let sentConnect = false;
  let head = Buffer.alloc(0);
  let headDone = false;
  const wire = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      const bytes = sentConnect
        ? chunk
        : Buffer.concat([
            Buffer.from(
              `CONNECT ${target} HTTP/1.1\r\nProxy-Authorization: ${proxyAuthorization(secret)}\r\n\r\n`,
            ),
            chunk,
          ]);
      sentConnect = true;
      socket.write(bytes, callback);
    },
    read() {
      socket.resume();
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (headDone) return void wire.push(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    headDone = true;
    if (!head.subarray(0, 12).toString().startsWith('HTTP/1.1 200'))
      return void wire.destroy(new Error('no 200'));
    const rest = head.subarray(end + 4);
    if (rest.length) wire.push(rest);
  });
  socket.on('end', () => wire.push(null));
  socket.on('error', (error) => wire.destroy(error));
  return wire;
}
