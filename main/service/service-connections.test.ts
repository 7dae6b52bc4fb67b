/**
 * Connection bounds on real sockets (the Unix socket and loopback TCP): silent holders are
 * answered and destroyed (not just ended) within the grace while everyone else is served; over
 * the bound a connection reads a whole 503 with Retry-After, never a reset; at the bound a silent
 * holder gives its place to a newcomer.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LIMITS } from './token-service.js';
import { call, rawExchange, type Target } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

interface Holder {
  readonly socket: Socket;
  /** When the server's answer (or its FIN) arrived, ms after opening. */
  endedAfter: number | undefined;
  text: string;
}

/** Opens a connection that sends nothing and never closes its side (the FIN-WAIT-2 holder). */
function hold(target: Target, started: number): Promise<Holder> {
  return new Promise((resolve, reject) => {
    const socket = target.socketPath
      ? connect({ path: target.socketPath, allowHalfOpen: true })
      : connect({ host: target.host!, port: target.port!, allowHalfOpen: true });
    const holder: Holder = { socket, endedAfter: undefined, text: '' };
    socket.on('data', (d: Buffer) => (holder.text += d.toString('utf8')));
    socket.on('end', () => (holder.endedAfter = Date.now() - started));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(holder));
    socket.once('error', reject);
  });
}

/** Whether the server has really closed its end: a write then fails (EPIPE / ECONNRESET) or closes. */
function serverSideGone(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    // Twice: the first write may be accepted by the kernel before the reset comes back.
    socket.write('x');
    setTimeout(() => !socket.destroyed && socket.write('y'), 100);
  });
}

describe('token service: silent connections with the shipped limits', () => {
  let rig: Rig;
  let tcp: Target;
  let secret: string;
  before(async () => {
    rig = await startRig({ listen: '127.0.0.1:0' });
    tcp = { host: '127.0.0.1', port: Number(rig.service.tcpAddress!.split(':')[1]) };
    secret = await rig.addClient('c', ['main']);
  });
  after(() => rig.stop());

  it('300 silent holders on TCP and 300 on the socket: others are served at once; the holders get 408 and are destroyed', async () => {
    const started = Date.now();
    const holders = await Promise.all([
      ...Array.from({ length: 300 }, () => hold(tcp, started)),
      ...Array.from({ length: 300 }, () => hold(rig.target, started)),
    ]);
    try {
      await sleep(200);
      for (const target of [tcp, rig.target]) {
        const t0 = Date.now();
        const res = await call(target, '/v1/accounts/main/token', { bearer: secret });
        assert.equal(res.status, 200, res.text);
        assert.ok(Date.now() - t0 < 2000, `served in ${Date.now() - t0} ms`);
      }
      // Headers timeout + one check interval + the grace, with a margin for a loaded machine.
      const deadline =
        DEFAULT_LIMITS.headersTimeoutMs +
        DEFAULT_LIMITS.connectionsCheckingIntervalMs +
        DEFAULT_LIMITS.failGraceMs;
      assert.ok(deadline < 15_000);
      while (holders.some((h) => h.endedAfter === undefined) && Date.now() - started < 15_000)
        await sleep(100);
      const late = holders.filter((h) => h.endedAfter === undefined);
      assert.equal(late.length, 0, `${late.length} holder(s) were never answered`);
      for (const h of holders) assert.match(h.text, /^HTTP\/1\.1 408 /);
      await sleep(DEFAULT_LIMITS.failGraceMs + 300);
      const gone = await Promise.all(
        holders
          .slice(0, 20)
          .concat(holders.slice(-20))
          .map((h) => serverSideGone(h.socket)),
      );
      assert.deepEqual(
        gone.filter((g) => !g),
        [],
        'the server destroyed them (it did not leave them half-closed)',
      );
      assert.ok(Date.now() - started < 15_000, `all gone after ${Date.now() - started} ms`);
    } finally {
      for (const h of holders) h.socket.destroy();
    }
  });
});

describe('token service: over the bound', () => {
  let rig: Rig;
  let tcp: Target;
  let secret: string;
  before(async () => {
    rig = await startRig({
      listen: '127.0.0.1:0',
      // A bound small enough to reach, and holders that are never evicted.
      limits: { maxConnections: 5, silentEvictAfterMs: 60_000 },
    });
    tcp = { host: '127.0.0.1', port: Number(rig.service.tcpAddress!.split(':')[1]) };
    secret = await rig.addClient('c', ['main']);
  });
  after(() => rig.stop());

  it('a connection over the bound reads a whole 503 JSON answer with Retry-After, on both listeners; it is logged once', async () => {
    for (const target of [tcp, rig.target]) {
      const started = Date.now();
      const holders = await Promise.all(Array.from({ length: 5 }, () => hold(target, started)));
      try {
        await sleep(100);
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => call(target, '/v1/accounts/main/token', { bearer: secret })),
        );
        for (const a of answers) {
          assert.equal(a.status, 503, a.text);
          assert.equal(a.headers['retry-after'], String(DEFAULT_LIMITS.overloadRetryAfterSeconds));
          assert.equal(a.json.error.code, 'too_many_connections');
        }
        // Byte level: the whole answer arrives and the connection closes without a reset.
        const raw = await rawExchange(target, (s) => {
          s.write(`GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n`);
        });
        assert.match(raw.text, /^HTTP\/1\.1 503 /);
        assert.ok(raw.text.endsWith('}'), raw.text);
        assert.equal(raw.error, undefined, 'no ECONNRESET / EPIPE');
      } finally {
        for (const h of holders) h.socket.destroy();
      }
      await sleep(100);
      assert.equal((await call(target, '/v1/accounts/main/token', { bearer: secret })).status, 200);
    }
    const warnings = rig.log.lines.filter((l) => l.includes('connection limit reached'));
    assert.equal(warnings.length, 2, `one line per listener for the burst: ${warnings.join('\n')}`);
    assert.match(warnings[0]!, /"listener":"tcp"/);
    assert.match(warnings[1]!, /"listener":"socket"/);
  });

  it('TCP at its bound never stops the socket', async () => {
    const started = Date.now();
    const holders = await Promise.all(Array.from({ length: 5 }, () => hold(tcp, started)));
    try {
      await sleep(100);
      assert.equal((await call(tcp, '/v1/health')).status, 503);
      assert.equal((await call(rig.target, '/v1/accounts/main/token', { bearer: secret })).status, 200);
    } finally {
      for (const h of holders) h.socket.destroy();
    }
  });
});

describe('token service: at the bound, silent holders make room', () => {
  let rig: Rig;
  let tcp: Target;
  before(async () => {
    rig = await startRig({ listen: '127.0.0.1:0', limits: { maxConnections: 5, silentEvictAfterMs: 300 } });
    tcp = { host: '127.0.0.1', port: Number(rig.service.tcpAddress!.split(':')[1]) };
  });
  after(() => rig.stop());

  it('a newcomer gets the place of the oldest silent connection, which is told 503', async () => {
    const started = Date.now();
    const holders = await Promise.all(Array.from({ length: 5 }, () => hold(tcp, started)));
    try {
      await sleep(400);
      const res = await call(tcp, '/v1/health');
      assert.equal(res.status, 200, res.text);
      await sleep(100);
      const told = holders.filter((h) => /^HTTP\/1\.1 503 /.test(h.text));
      assert.equal(told.length, 1, 'exactly one holder made room');
      assert.equal(
        told[0],
        holders.find((h) => h.text !== ''),
        'the oldest',
      );
    } finally {
      for (const h of holders) h.socket.destroy();
    }
  });
});
