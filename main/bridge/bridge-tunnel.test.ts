import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpsThrough, rawConnect, readToEnd } from './testing/proxy-client.js';
import { startBridgeRig, type BridgeRig } from './testing/bridge-rig.js';

describe('bridge: every other host is tunnelled byte for byte, never decrypted', () => {
  let rig: BridgeRig;
  let echo: Server;
  let received: Buffer[];
  before(async () => {
    received = [];
    // Echoes every byte back and records what it got, then closes when the client is done.
    echo = createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        socket.write(c);
      });
      socket.on('end', () => {
        received.push(Buffer.concat(chunks));
        socket.end();
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoAt = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
    rig = await startBridgeRig({
      upstream: {
        tunnelOverrides: {
          'echo.example:7000': echoAt,
          // Port 8443 of an auth host is not TLS we terminate: it is tunnelled like anything else.
          'user.mypikpak.net:8443': echoAt,
        },
      },
    });
  });
  after(async () => {
    await rig.stop();
    echo.close();
  });

  it('passes 2 MB of random bytes through unchanged, including bytes sent with the CONNECT', async () => {
    const payload = randomBytes(2 * 1024 * 1024);
    const statsBefore = rig.bridge.stats();
    const tunnel = await rawConnect(
      rig.bridge.port,
      'echo.example:7000',
      rig.secret,
      payload.subarray(0, 1000),
    );
    assert.equal(tunnel.status, 200, tunnel.head);
    assert.match(tunnel.head, /^HTTP\/1\.1 200 Connection Established$/);
    const back = readToEnd(tunnel.socket, tunnel.rest);
    tunnel.socket.end(payload.subarray(1000));
    const echoed = await back;
    assert.equal(echoed.length, payload.length);
    assert.ok(echoed.equals(payload), 'echoed bytes differ');
    assert.ok(received.at(-1)!.equals(payload), 'the target got other bytes than the client sent');
    const stats = rig.bridge.stats();
    assert.equal(stats.tunnels, statsBefore.tunnels + 1);
    assert.equal(stats.intercepted, statsBefore.intercepted, 'not intercepted');
  });

  it('tunnels an auth host on a port other than 443 instead of intercepting it', async () => {
    const tunnel = await rawConnect(rig.bridge.port, 'user.mypikpak.net:8443', rig.secret);
    assert.equal(tunnel.status, 200);
    const back = readToEnd(tunnel.socket, tunnel.rest);
    tunnel.socket.end('plain bytes');
    assert.equal((await back).toString(), 'plain bytes');
  });

  it('leaves TLS to the drive host alone: the client sees the drive host’s own certificate', async () => {
    const before = rig.emulator.stats().requests.about ?? 0;
    const intercepted = rig.bridge.stats().intercepted;
    const res = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
      host: 'api-drive.mypikpak.net',
      path: '/drive/v1/about',
      ca: rig.emulator.caCertPem!,
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(res.status, 401);
    assert.equal((res.json as { error_code: number }).error_code, 16);
    assert.match(
      String(res.peer.issuer.CN),
      /PikPak Emulator/,
      'the emulator’s certificate, not the bridge’s',
    );
    assert.equal(rig.emulator.stats().requests.about ?? 0, before + 1);
    assert.equal(rig.bridge.stats().intercepted, intercepted);
    // The bridge's CA is not trusted for it: a client trusting only the bridge's CA fails.
    await assert.rejects(
      httpsThrough(rig.bridge.port, {
        proxySecret: rig.secret,
        host: 'api-drive.mypikpak.net',
        path: '/',
        ca: rig.ca.certPem,
      }),
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('answers 502 when the target cannot be reached', async () => {
    const refused = await rawConnect(rig.bridge.port, '127.0.0.1:1', rig.secret);
    assert.equal(refused.status, 502);
    assert.match(
      refused.rest.toString() + (await readToEnd(refused.socket)).toString(),
      /could not reach 127\.0\.0\.1:1/,
    );
    const unknown = await rawConnect(rig.bridge.port, 'no-such-host.invalid:443', rig.secret);
    assert.equal(unknown.status, 502);
    unknown.socket.destroy();
  });

  it('closes open tunnels when it stops', async () => {
    const tunnel = await rawConnect(rig.bridge.port, 'echo.example:7000', rig.secret);
    assert.equal(tunnel.status, 200);
    const closed = readToEnd(tunnel.socket);
    await rig.bridge.close();
    await closed;
    assert.ok(tunnel.socket.destroyed || tunnel.socket.readableEnded);
  });
});
