/**
 * Issue 8, "Another local user cannot connect": the real daemon runs as this user (root, so that
 * the test can start processes as `nobody`); a process running as `nobody` — `node -e` with inline
 * code, so it needs no project file — tries to use it:
 *  - the default socket (`$XDG_RUNTIME_DIR/pikpak-token-broker/broker.sock`, folder 0700) and a
 *    socket in a 0755 folder of the user's choosing (socket 0600): connect() fails with EACCES;
 *  - the `--listen` TCP port: it connects (TCP has no owner), but without a client secret every
 *    call is 401, a guessed one too, the PikPak-compatible endpoint says invalid_grant, and it
 *    cannot read the admin credential: no token, ever.
 * Issue 14: `nobody` holding 300 silent TCP connections (sending nothing, never closing) blocks
 * nobody: the owner's new TCP clients and the socket are served throughout, and the daemon
 * answers each holder (408) and destroys it within 15 s.
 * A control shows that `nobody` can connect where permissions allow it (a 0666 socket in a 0755
 * folder), so the refusals are the permissions' doing and not the harness's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createServer as createNetServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call } from '../../main/service/testing/http-client.js';
import {
  ACCOUNT,
  addClient,
  startDaemon,
  startSession,
  type RunningDaemon,
  type Session,
} from './hostile-daemon.js';

/** What a `nobody` process is asked to do, and what it reports. */
type Task =
  | { kind: 'whoami' }
  | { kind: 'connect'; path: string }
  | { kind: 'connect-tcp'; port: number }
  | { kind: 'read'; path: string }
  | { kind: 'hold'; port: number; count: number; waitMs: number }
  | {
      kind: 'http';
      port: number;
      method: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
    };
type TaskResult =
  | { ok: true; uid?: number; gid?: number; groups?: number[] }
  | { ok: false; code: string }
  | { ok: true; status: number; body: string; wwwAuthenticate?: string }
  | {
      ok: true;
      count: number;
      connected: number;
      /** Epoch ms when the last holder had connected. */
      allConnectedAt: number;
      answered408: number;
      ended: number;
      /** ms from the start until the last holder was answered and ended (null: some never were). */
      lastEndedAfter: number | null;
      /** Holders whose probe write after the end failed: the daemon had destroyed its side. */
      serverGone: number;
    };

/** Runs in the `nobody` process: plain Node, no project file. */
const NOBODY_SCRIPT = `
const net = require('node:net');
const http = require('node:http');
const fs = require('node:fs');
const run = (t) => new Promise((resolve) => {
  const fail = (e) => resolve({ ok: false, code: e.code || String(e) });
  switch (t.kind) {
    case 'whoami':
      return resolve({ ok: true, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() });
    case 'connect':
    case 'connect-tcp': {
      const s = t.kind === 'connect' ? net.connect({ path: t.path }) : net.connect({ host: '127.0.0.1', port: t.port });
      s.once('connect', () => { s.destroy(); resolve({ ok: true }); });
      s.once('error', fail);
      return;
    }
    case 'read':
      try { fs.readFileSync(t.path); return resolve({ ok: true }); } catch (e) { return fail(e); }
    case 'hold': {
      const start = Date.now();
      const holders = [];
      let connected = 0;
      for (let i = 0; i < t.count; i++) {
        const s = net.connect({ host: '127.0.0.1', port: t.port, allowHalfOpen: true });
        const h = { s, text: '', endedAt: null, connectedAt: 0, error: null };
        s.on('connect', () => { h.connectedAt = Date.now(); connected++; });
        s.on('data', (d) => (h.text += d));
        s.on('end', () => (h.endedAt = Date.now()));
        s.on('error', (e) => (h.error = e.code || String(e)));
        holders.push(h);
      }
      setTimeout(() => {
        // A write after the end fails (EPIPE / ECONNRESET) only if the daemon destroyed its side.
        for (const h of holders) if (!h.s.destroyed) {
          h.s.write('x');
          setTimeout(() => !h.s.destroyed && h.s.write('y'), 100);
        }
        setTimeout(() => {
          resolve({
            ok: true,
            count: holders.length,
            connected,
            allConnectedAt: Math.max(...holders.map((h) => h.connectedAt)),
            answered408: holders.filter((h) => h.text.startsWith('HTTP/1.1 408 ')).length,
            ended: holders.filter((h) => h.endedAt !== null).length,
            lastEndedAfter: holders.every((h) => h.endedAt !== null) ? Math.max(...holders.map((h) => h.endedAt - start)) : null,
            serverGone: holders.filter((h) => h.s.destroyed || h.error !== null).length,
          });
          for (const h of holders) h.s.destroy();
        }, 1000);
      }, t.waitMs);
      return;
    }
    case 'http': {
      const req = http.request({ host: '127.0.0.1', port: t.port, method: t.method, path: t.path, headers: t.headers || {} }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () =>
          resolve({ ok: true, status: res.statusCode, body, wwwAuthenticate: res.headers['www-authenticate'] }));
      });
      req.on('error', fail);
      req.end(t.body);
      return;
    }
  }
});
(async () => {
  const out = [];
  for (const t of JSON.parse(process.argv[1])) out.push(await run(t));
  process.stdout.write(JSON.stringify(out));
})();
`;

interface Nobody {
  readonly uid: number;
  readonly gid: number;
}

function findNobody(): Nobody | string {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root, to start a process as the user nobody';
  const uid = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return 'there is no user nobody on this machine';
  const nobody = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  const probe = spawnSync(process.execPath, ['-e', 'process.exit(0)'], { ...nobody, cwd: '/', env: {} });
  if (probe.status !== 0)
    return `${process.execPath} cannot be run as nobody (${probe.error?.message ?? `exit ${probe.status}`})`;
  return nobody;
}

function asNobody(nobody: Nobody, tasks: Task[]): Promise<TaskResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', NOBODY_SCRIPT, JSON.stringify(tasks)], {
      uid: nobody.uid,
      gid: nobody.gid,
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout) as TaskResult[]);
      } catch {
        reject(new Error(`the nobody process failed (exit ${code}): ${stderr || stdout}`));
      }
    });
  });
}

const found = findNobody();
const sessionResult =
  typeof found === 'string' ? { skipped: found } : await startSession('pkb-other-user-test');
const skip = 'skipped' in sessionResult ? `another local user: ${sessionResult.skipped}` : false;

describe('another local user (nobody) cannot use the daemon', { skip, timeout: 180_000 }, () => {
  const nobody = found as Nobody;
  const session = sessionResult as Session;
  let control: Server;
  let controlPath: string;

  before(async () => {
    // The control: a 0666 socket in a 0755 folder, which anybody may connect to.
    const open = join(session.dir, 'open');
    await mkdir(open);
    await chmod(open, 0o755);
    controlPath = join(open, 'control.sock');
    control = createNetServer((s) => s.destroy());
    await new Promise<void>((resolve) => control.listen(controlPath, resolve));
    await chmod(controlPath, 0o666);
  });

  after(async () => {
    await new Promise((resolve) => control?.close(resolve));
    await session.stop();
  });

  it('the nobody process is nobody (no root group) and can connect where permissions allow', async () => {
    const [who, connected] = await asNobody(nobody, [
      { kind: 'whoami' },
      { kind: 'connect', path: controlPath },
    ]);
    assert.deepEqual(who, { ok: true, uid: nobody.uid, gid: nobody.gid, groups: [nobody.gid] });
    assert.deepEqual(connected, { ok: true }, 'nobody can use an open socket');
  });

  it('cannot connect to the default socket: folder 0700, socket 0600 → EACCES', async () => {
    const runtime = join(session.dir, 'xdg-runtime');
    await mkdir(runtime);
    await chmod(runtime, 0o755); // so that only the broker's own folder stands in the way
    const daemon = await startDaemon(session, { xdgRuntimeDir: runtime });
    try {
      assert.equal(daemon.socketPath, join(runtime, 'pikpak-token-broker', 'broker.sock'));
      assert.equal((await stat(dirname(daemon.socketPath))).mode & 0o777, 0o700);
      assert.equal((await stat(daemon.socketPath)).mode & 0o777, 0o600);
      const health = await call({ socketPath: daemon.socketPath }, '/v1/health');
      assert.equal(health.status, 200, 'its owner is served');
      const [connected] = await asNobody(nobody, [{ kind: 'connect', path: daemon.socketPath }]);
      assert.deepEqual(connected, { ok: false, code: 'EACCES' });
    } finally {
      await stopCleanly(daemon);
    }
  });

  describe('a socket in a 0755 folder of the user’s choosing, and the --listen TCP port', () => {
    let daemon: RunningDaemon;
    let secret: string;
    before(async () => {
      const shared = join(session.dir, 'shared');
      await mkdir(shared);
      await chmod(shared, 0o755);
      daemon = await startDaemon(session, { socketPath: join(shared, 'broker.sock'), listen: true });
      secret = await addClient(session, daemon.socketPath, 'owner-client');
    });
    after(() => stopCleanly(daemon));

    it('cannot connect to the socket: the folder is left 0755, the socket itself is 0600 → EACCES', async () => {
      assert.equal(
        (await stat(dirname(daemon.socketPath))).mode & 0o777,
        0o755,
        'the folder was not chmod’ed',
      );
      assert.equal((await stat(daemon.socketPath)).mode & 0o777, 0o600);
      const [connected] = await asNobody(nobody, [{ kind: 'connect', path: daemon.socketPath }]);
      assert.deepEqual(connected, { ok: false, code: 'EACCES' });
    });

    it('can reach the TCP port, but gets 401 without a client secret and never a token', async () => {
      // The owner, with a secret, is served over the same port: the refusals below are about nobody.
      const owner = await call(
        { host: '127.0.0.1', port: daemon.tcpPort! },
        `/v1/accounts/${ACCOUNT}/token`,
        {
          bearer: secret,
        },
      );
      assert.equal(owner.status, 200, owner.text);

      const guessed = `pkb_${'A'.repeat(43)}`;
      const port = daemon.tcpPort!;
      const results = await asNobody(nobody, [
        { kind: 'connect-tcp', port },
        { kind: 'http', port, method: 'GET', path: `/v1/accounts/${ACCOUNT}/token` },
        {
          kind: 'http',
          port,
          method: 'GET',
          path: `/v1/accounts/${ACCOUNT}/token`,
          headers: { authorization: `Bearer ${guessed}` },
        },
        { kind: 'http', port, method: 'GET', path: '/v1/accounts' },
        { kind: 'http', port, method: 'GET', path: '/v1/admin/clients' },
        {
          kind: 'http',
          port,
          method: 'POST',
          path: '/v1/auth/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=refresh_token&refresh_token=${guessed}.${ACCOUNT}`,
        },
        { kind: 'http', port, method: 'GET', path: '/v1/health' },
        { kind: 'read', path: join(session.dataDir, 'admin.token') },
        { kind: 'read', path: join(session.dataDir, 'clients.json') },
      ]);
      const [tcp, noSecret, wrongSecret, accounts, admin, compat, health, adminToken, clientsFile] =
        results as [TaskResult, ...TaskResult[]];
      assert.deepEqual(tcp, { ok: true }, 'TCP itself has no owner: nobody connects');
      for (const [name, r] of [
        ['no secret', noSecret],
        ['a guessed secret', wrongSecret],
        ['the account list', accounts],
        ['an admin call', admin],
      ] as const) {
        assert.ok(r && r.ok && 'status' in r, `${name}: ${JSON.stringify(r)}`);
        assert.equal(r.status, 401, `${name}: ${r.body}`);
        assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'unauthorized');
        assert.match(r.wwwAuthenticate ?? '', /^Bearer/);
      }
      assert.ok(compat && compat.ok && 'status' in compat);
      assert.equal(compat.status, 400);
      assert.equal((JSON.parse(compat.body) as { error: string }).error, 'invalid_grant');
      // The public health call is answered, and names no account and no token.
      assert.ok(health && health.ok && 'status' in health);
      assert.equal(health.status, 200);
      assert.ok(!health.body.includes(ACCOUNT) && !health.body.includes('access_token'), health.body);
      for (const r of results) if (r.ok && 'body' in r) assert.ok(!r.body.includes('"access_token"'), r.body);
      // Nor can it read its way in: the admin credential and the client list are the owner's.
      assert.deepEqual(adminToken, { ok: false, code: 'EACCES' });
      assert.deepEqual(clientsFile, { ok: false, code: 'EACCES' });
    });

    it('300 silent TCP connections held by nobody: the owner is served on TCP and the socket throughout; the holders are destroyed within 15 s', async () => {
      const port = daemon.tcpPort!;
      const tcp = { host: '127.0.0.1', port };
      const holding = asNobody(nobody, [{ kind: 'hold', port, count: 300, waitMs: 14_000 }]);
      let done = false;
      void holding.finally(() => (done = true));
      const polls: { at: number; tcp: number | string; socket: number | string }[] = [];
      const status = (p: Promise<{ status: number }>) =>
        p.then(
          (r) => r.status,
          (e: NodeJS.ErrnoException) => e.code ?? e.message,
        );
      while (!done) {
        const [t, s] = await Promise.all([
          status(call(tcp, `/v1/accounts/${ACCOUNT}/token`, { bearer: secret })),
          status(
            call({ socketPath: daemon.socketPath }, `/v1/accounts/${ACCOUNT}/token`, { bearer: secret }),
          ),
        ]);
        polls.push({ at: Date.now(), tcp: t, socket: s });
        await new Promise((r) => setTimeout(r, 250));
      }
      const [held] = await holding;
      assert.ok(held && 'answered408' in held, JSON.stringify(held));
      assert.equal(held.connected, 300, 'nobody got its 300 connections');
      const during = polls.filter((p) => p.at >= held.allConnectedAt);
      assert.ok(during.length >= 10, `polled ${during.length} times while they were held`);
      assert.deepEqual(
        during.filter((p) => p.tcp !== 200 || p.socket !== 200),
        [],
        'every new TCP client and every socket call was served while nobody held its connections',
      );
      assert.equal(held.answered408, 300, 'each holder was told (408), none just dropped');
      assert.equal(held.ended, 300);
      assert.ok(
        held.lastEndedAfter !== null && held.lastEndedAfter < 15_000,
        `ended after ${held.lastEndedAfter} ms`,
      );
      assert.equal(held.serverGone, 300, 'the daemon destroyed them (not left half-closed in FIN-WAIT-2)');
    });
  });
});

async function stopCleanly(daemon: RunningDaemon | undefined): Promise<void> {
  if (!daemon) return;
  const result = await daemon.stop();
  assert.equal(result.code, 0, `daemon exit: ${result.stderr.slice(-2000)}`);
}
