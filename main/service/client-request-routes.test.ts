/**
 * The approval routes in the service's real request pipeline (browser hardening, routing, JSON
 * errors, the request log), over a Unix socket, with a real client registry in a temp folder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../core/testing/fake-clock.js';
import { captureLog } from '../shell/testing/shell-rig.js';
import { ClientRegistry } from './client-registry.js';
import { clientRequestRoutes } from './client-request-routes.js';
import { ClientRequests } from './client-requests.js';
import { socketHostNames } from './loopback.js';
import { createRequestHandler } from './request-handler.js';
import type { ServiceDeps } from './route.js';
import { Router } from './router.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          host: 'localhost',
          ...(body
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('client-request routes in the service pipeline', () => {
  let dir: string;
  let socketPath: string;
  let server: Server;
  let registry: ClientRegistry;
  let requests: ClientRequests;
  const log = captureLog();
  const clock = new FakeClock();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-req-'));
    socketPath = join(dir, 's.sock');
    registry = await ClientRegistry.open({ dataDir: join(dir, 'data'), clock });
    requests = new ClientRequests({ clients: registry, accounts: () => ['main'], clock });
    const deps = {
      broker: undefined,
      clients: registry,
      admin: { matchesDigest: () => false },
      events: undefined,
      log,
      now: () => clock.now(),
    } as unknown as ServiceDeps;
    server = createServer(
      createRequestHandler(deps, new Router(clientRequestRoutes(requests)), {
        maxBodyBytes: 64 * 1024,
        socketHosts: socketHostNames(socketPath),
      }),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    requests.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ask → 202 pending → owner approves → 200 with a working secret, once → 404', async () => {
    const asked = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'alist', account: 'main' },
    });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    const id = String(asked.body.request_id);
    assert.match(id, /^pkb_req_/);
    assert.equal(asked.body.poll, '/v1/client-requests/status');
    assert.match(String(asked.body.message), new RegExp(`code ${String(asked.body.code)}`));

    const auth = { authorization: `Bearer ${id}` };
    const waiting = await call(socketPath, 'GET', '/v1/client-requests/status', { headers: auth });
    assert.equal(waiting.status, 202);
    assert.equal(waiting.body.status, 'pending');

    await requests.approve(requests.pending()[0]!.id);
    const approved = await call(socketPath, 'GET', '/v1/client-requests/status', { headers: auth });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.status, 'approved');
    assert.deepEqual(approved.body.accounts, ['main']);
    const secret = String(approved.body.secret);
    assert.equal(registry.authenticate(secret)?.name, 'alist', 'the delivered secret is the client’s');

    const again = await call(socketPath, 'GET', '/v1/client-requests/status', { headers: auth });
    assert.equal(again.status, 404);
    assert.equal((again.body.error as { code: string }).code, 'request_not_found');

    const logged = log.text();
    assert.ok(!logged.includes(id), 'the request id never reaches the log');
    assert.ok(!logged.includes(secret), 'nor the secret');
  });

  it('deny → 403 request_denied; expiry → 403 request_expired', async () => {
    const a = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'denied-one', account: 'main' },
    });
    requests.deny(requests.pending()[0]!.id);
    const denied = await call(socketPath, 'GET', '/v1/client-requests/status', {
      headers: { authorization: `Bearer ${String(a.body.request_id)}` },
    });
    assert.equal(denied.status, 403);
    assert.equal((denied.body.error as { code: string }).code, 'request_denied');

    const b = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'slow-one', account: 'main' },
    });
    await clock.advance(10 * 60_000);
    const expired = await call(socketPath, 'GET', '/v1/client-requests/status', {
      headers: { authorization: `Bearer ${String(b.body.request_id)}` },
    });
    assert.equal(expired.status, 403);
    assert.equal((expired.body.error as { code: string }).code, 'request_expired');
  });

  it('no oracle: an unknown account and an existing client name get the same 202 as anything else', async () => {
    // "alist" exists (approved above); "nope" is no account.
    const shape = (a: Answer) => ({ status: a.status, keys: Object.keys(a.body).sort() });
    const good = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'fresh', account: 'main' },
      headers: { connection: 'close' }, // one connection each: a connection may have two waiting
    });
    const unknownAccount = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'x', account: 'nope' },
      headers: { connection: 'close' }, // one connection each: a connection may have two waiting
    });
    const takenName = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'alist', account: 'main' },
      headers: { connection: 'close' },
    });
    assert.equal(good.status, 202, JSON.stringify(good.body));
    assert.deepEqual(shape(unknownAccount), shape(good));
    assert.deepEqual(shape(takenName), shape(good));
    for (const a of [good, unknownAccount, takenName]) {
      assert.equal(a.headers['content-length'] !== undefined, true);
      assert.equal(a.body.status, 'pending');
    }
    for (const p of requests.pending()) requests.deny(p.id);
  });

  it('bad requests get clear errors', async () => {
    const cases: [unknown, number, string][] = [
      [{ name: 'x' }, 400, 'bad_request'],
      [{ name: '../x', account: 'main' }, 400, 'invalid_client'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await call(socketPath, 'POST', '/v1/client-requests', { body });
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal((answer.body.error as { code: string }).code, code);
    }
    const noId = await call(socketPath, 'GET', '/v1/client-requests/status');
    assert.equal(noId.status, 401);
  });

  it('a status poll without a request id is a 401 with a Bearer challenge', async () => {
    const answer = await call(socketPath, 'GET', '/v1/client-requests/status');
    assert.equal(answer.status, 401);
    assert.equal((answer.body.error as { code: string }).code, 'unauthorized');
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="pikpak-token-broker"');
  });

  it('a web page cannot ask (browser hardening applies to these public routes too)', async () => {
    const answer = await call(socketPath, 'POST', '/v1/client-requests', {
      body: { name: 'evil', account: 'main' },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(answer.status, 403);
    assert.equal((answer.body.error as { code: string }).code, 'browser_request_refused');
    assert.deepEqual(
      requests.pending().filter((r) => r.name === 'evil'),
      [],
    );
  });
});
