import assert from 'node:assert/strict';
import { InsecureDirectoryError } from '../core/errors/index.js';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidListenAddressError, SocketInUseError } from './errors/index.js';
import { reply } from './route.js';
import { startTokenService } from './token-service.js';
import { call } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

const posix = process.platform !== 'win32';

describe('token service: the socket', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.stop());

  const again = (socketPath: string, listen?: string) =>
    startTokenService({
      broker: rig.broker,
      socketPath,
      listen,
      clients: rig.clients,
      admin: rig.admin,
      log: rig.log,
      clock: rig.clock,
    });

  it('is mode 0600 in a folder of mode 0700', { skip: !posix && 'no Unix modes on Windows' }, async () => {
    const socket = await stat(rig.socketPath);
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal((await stat(dirname(rig.socketPath))).mode & 0o777, 0o700);
  });

  it('makes its own socket folder private', { skip: !posix && 'no Unix modes on Windows' }, async () => {
    const folder = join(rig.dir, 'pikpak-token-broker');
    await mkdir(folder, { mode: 0o755 });
    await chmod(folder, 0o755);
    const service = await again(join(folder, 'b.sock'));
    try {
      assert.equal((await stat(folder)).mode & 0o777, 0o700);
    } finally {
      await service.close();
    }
  });

  it(
    "uses a folder the user chose as it is, never chmod'ing it",
    { skip: !posix && 'no Unix modes on Windows' },
    async () => {
      const folder = join(rig.dir, 'mine');
      await mkdir(folder, { mode: 0o755 });
      await chmod(folder, 0o755);
      const service = await again(join(folder, 'b.sock'));
      try {
        assert.equal((await stat(folder)).mode & 0o777, 0o755, 'the folder is left alone');
        assert.equal((await stat(join(folder, 'b.sock'))).mode & 0o777, 0o600);
      } finally {
        await service.close();
      }
    },
  );

  it(
    'refuses a socket folder other users can write to',
    { skip: !posix && 'no Unix modes on Windows' },
    async () => {
      const folder = join(rig.dir, 'shared');
      await mkdir(folder);
      await chmod(folder, 0o777);
      await assert.rejects(again(join(folder, 'b.sock')), (error: unknown) => {
        assert.ok(error instanceof InsecureDirectoryError);
        assert.equal(error.problem, 'writable-by-others');
        assert.match(error.message, /can be changed by other users/);
        return true;
      });
      assert.equal((await stat(folder)).mode & 0o777, 0o777, 'not chmod-ed either');
    },
  );

  it('a second service on the same path refuses to start while the first is alive', async () => {
    await assert.rejects(again(rig.socketPath), (error: unknown) => {
      assert.ok(error instanceof SocketInUseError);
      assert.equal(error.problem, 'live-broker');
      assert.match(error.message, /Another broker already answers on/);
      return true;
    });
    const res = await call(rig.target, '/v1/health');
    assert.equal(res.status, 200, 'the first one still works');
  });

  it(
    'replaces a stale socket file nobody answers on',
    { skip: !posix && 'named pipes leave no files' },
    async () => {
      const socketPath = join(rig.dir, 'run', 'stale.sock');
      // A process that dies without closing its server leaves the socket file behind.
      const child = spawnSync(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      assert.equal(child.signal, 'SIGKILL');
      assert.ok((await stat(socketPath)).isSocket(), 'stale socket file exists');
      const service = await again(socketPath);
      try {
        const res = await call({ socketPath }, '/v1/health');
        assert.equal(res.status, 200);
      } finally {
        await service.close();
      }
    },
  );

  it(
    'refuses a path that is something other than a socket, and leaves it alone',
    { skip: !posix },
    async () => {
      const socketPath = join(rig.dir, 'run', 'precious.txt');
      await writeFile(socketPath, 'keep me');
      await assert.rejects(again(socketPath), (error: unknown) => {
        assert.ok(error instanceof SocketInUseError);
        assert.equal(error.problem, 'not-a-socket');
        return true;
      });
      assert.ok((await stat(socketPath)).isFile());
    },
  );

  it('refuses a socket another (non-broker) program listens on', { skip: !posix }, async () => {
    const { createServer } = await import('node:net');
    const socketPath = join(rig.dir, 'run', 'other.sock');
    const other = createServer((s) => {
      s.on('error', () => undefined);
      s.end('SSH-2.0-nope\r\n');
    });
    await new Promise<void>((r) => other.listen(socketPath, r));
    try {
      await assert.rejects(again(socketPath), (error: unknown) => {
        assert.ok(error instanceof SocketInUseError);
        assert.equal(error.problem, 'live-other');
        return true;
      });
    } finally {
      other.close();
    }
  });

  it('close() removes the socket file', { skip: !posix }, async () => {
    const socketPath = join(rig.dir, 'run', 'closing.sock');
    const service = await again(socketPath);
    await service.close();
    await assert.rejects(stat(socketPath), /ENOENT/);
    await service.close(); // idempotent
  });

  it('the TCP listener refuses non-loopback addresses', async () => {
    for (const listen of ['0.0.0.0:0', '192.168.1.1:0', '[::]:0', '[2001:db8::1]:8080', 'example.com:80']) {
      await assert.rejects(again(join(rig.dir, 'run', 'tcp.sock'), listen), (error: unknown) => {
        assert.ok(error instanceof InvalidListenAddressError, listen);
        assert.equal(error.problem, 'not-loopback');
        assert.match(error.message, /loopback only/);
        return true;
      });
    }
    for (const listen of ['127.0.0.1', '127.0.0.1:99999', 'localhost:x', '']) {
      await assert.rejects(
        again(join(rig.dir, 'run', 'tcp.sock'), listen),
        InvalidListenAddressError,
        listen,
      );
    }
  });

  it('the TCP listener works on 127.0.0.1:0 and keeps the Host check', async () => {
    const secret = await rig.addClient('tcp', ['main']);
    const service = await again(join(rig.dir, 'run', 'tcp.sock'), '127.0.0.1:0');
    try {
      assert.match(service.tcpAddress ?? '', /^127\.0\.0\.1:\d+$/);
      const port = Number(service.tcpAddress!.split(':')[1]);
      const ok = await call({ host: '127.0.0.1', port }, '/v1/accounts/main/token', { bearer: secret });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.account, 'main');
      const rebound = await call({ host: '127.0.0.1', port }, '/v1/accounts/main/token', {
        bearer: secret,
        headers: { host: `attacker.example:${port}` },
      });
      assert.equal(rebound.status, 403);
      assert.equal(rebound.json.error.code, 'host_not_allowed');
      const socketAsHost = await call({ host: '127.0.0.1', port }, '/v1/health', {
        headers: { host: service.socketPath },
      });
      assert.equal(socketAsHost.status, 403, 'the socket path is a valid Host only on the socket');
    } finally {
      await service.close();
    }
  });

  it('extra routes join the same pipeline (checks, auth, errors)', async () => {
    const service = await startTokenService({
      broker: rig.broker,
      socketPath: join(rig.dir, 'run', 'extra.sock'),
      clients: rig.clients,
      admin: rig.admin,
      log: rig.log,
      extraRoutes: [
        { method: 'GET', path: '/v1/extra', access: 'public', handler: () => reply(200, { extra: true }) },
        {
          method: 'GET',
          path: '/v1/extra/admin',
          access: 'admin',
          handler: () => reply(200, { admin: true }),
        },
      ],
    });
    try {
      const target = { socketPath: service.socketPath };
      assert.deepEqual((await call(target, '/v1/extra')).json, { extra: true });
      assert.equal((await call(target, '/v1/extra', { headers: { origin: 'http://x' } })).status, 403);
      assert.equal((await call(target, '/v1/extra/admin')).status, 401);
      assert.equal((await call(target, '/v1/extra/admin', { bearer: rig.adminToken })).status, 200);
      assert.equal((await call(target, '/v1/health')).status, 200, 'built-in routes still there');
    } finally {
      await service.close();
    }
  });

  it('curl --unix-socket works', async (t) => {
    const probe = spawnSync('curl', ['--version']);
    if (probe.error || probe.status !== 0) {
      t.skip('curl is not installed');
      return;
    }
    const secret = await rig.addClient('curl', ['main']);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('curl', [
        '-sS',
        '--unix-socket',
        rig.socketPath,
        '-H',
        `Authorization: Bearer ${secret}`,
        'http://localhost/v1/accounts/main/token',
      ]);
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    assert.equal(out.code, 0);
    const body = JSON.parse(out.stdout);
    assert.equal(body.account, 'main');
    assert.equal(body.access_token, (await rig.broker.getAccessToken('main')).accessToken.reveal());
  });
});
