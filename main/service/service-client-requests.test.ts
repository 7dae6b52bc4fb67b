/**
 * Client requests through the real token service on both listeners: the same answer whatever
 * the account or name (no oracle), bounds per connection and per listener, and the owner (admin
 * credential) never limited by anyone's pending requests.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { clientRequestRoutes } from './client-request-routes.js';
import { ClientRequests } from './client-requests.js';
import { call, type CallResult, type Target } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

describe('token service: client requests from the socket and from TCP', () => {
  let rig: Rig;
  let requests: ClientRequests;
  let tcp: Target;
  before(async () => {
    rig = await startRig({
      listen: '127.0.0.1:0',
      extraRoutes: ({ broker, clients, clock, log }) => {
        requests = new ClientRequests({ clients, accounts: () => broker.accountNames(), clock, log });
        return clientRequestRoutes(requests);
      },
    });
    const [, port] = rig.service.tcpAddress!.split(':');
    tcp = { host: '127.0.0.1', port: Number(port) };
    await rig.addClient('existing', ['main']);
  });
  after(async () => {
    requests.close();
    await rig.stop();
  });
  const denyAll = (): void => {
    for (const p of requests.pending()) requests.deny(p.id);
  };
  const ask = (
    target: Target,
    name: string,
    account = 'main',
    extra: { bearer?: string; agent?: Agent } = {},
  ) => call(target, '/v1/client-requests', { method: 'POST', body: { name, account }, ...extra });

  it('without credentials over TCP: an existing account, another one and a taken name look alike', async () => {
    const shape = (a: CallResult) => ({
      status: a.status,
      keys: Object.keys(a.json as object).sort(),
      fields: { status: a.json.status, poll: a.json.poll, poll_interval: a.json.poll_interval },
    });
    const existing = await ask(tcp, 'newcomer', 'main');
    const other = await ask(tcp, 'newcomer2', 'no-such-account');
    const taken = await ask(tcp, 'existing', 'main');
    assert.equal(existing.status, 202, existing.text);
    assert.deepEqual(shape(other), shape(existing));
    assert.deepEqual(shape(taken), shape(existing));
    assert.equal(existing.headers['retry-after'], other.headers['retry-after']);
    // The owner sees what the asker was not told.
    const problems = requests.pending().map((p) => [p.name, p.problem !== undefined]);
    assert.deepEqual(problems, [
      ['newcomer', false],
      ['newcomer2', true],
      ['existing', true],
    ]);
    denyAll();
  });

  it('one TCP connection may have two requests waiting; a third is 429 with Retry-After', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await ask(tcp, 'k1', 'main', { agent })).status, 202);
      assert.equal((await ask(tcp, 'k2', 'main', { agent })).status, 202);
      const third = await ask(tcp, 'k3', 'main', { agent });
      assert.equal(third.status, 429, third.text);
      assert.equal(third.json.error.code, 'too_many_requests');
      assert.ok(Number(third.headers['retry-after']) > 0);
      assert.equal((await ask(tcp, 'k4')).status, 202, 'another connection may still ask');
    } finally {
      agent.destroy();
      denyAll();
    }
  });

  it('TCP callers filling their queue never stop the socket, nor the owner', async () => {
    for (let i = 0; i < 8; i++) assert.equal((await ask(tcp, `t${i}`)).status, 202);
    const ninth = await ask(tcp, 't9');
    assert.equal(ninth.status, 429, 'the TCP pool is full');

    const onSocket = await ask(rig.target, 'from-socket');
    assert.equal(onSocket.status, 202, 'the socket has its own pool');
    for (let i = 0; i < 7; i++) assert.equal((await ask(rig.target, `s${i}`)).status, 202);
    assert.equal((await ask(rig.target, 's-full')).status, 429, 'the socket pool is full too');

    const owner = await ask(rig.target, 'owner-asks', 'main', { bearer: rig.adminToken });
    assert.equal(owner.status, 202, `the owner is never limited: ${owner.text}`);
    const ownerOverTcp = await ask(tcp, 'owner-tcp', 'main', { bearer: rig.adminToken });
    assert.equal(ownerOverTcp.status, 202, ownerOverTcp.text);
    // Other calls were never affected.
    const health = await call(tcp, '/v1/health');
    assert.equal(health.status, 200);
    denyAll();
  });

  it('logs who asked: the listener, the connection and, on TCP, the peer port', async () => {
    await ask(tcp, 'logged-tcp');
    await ask(rig.target, 'logged-socket');
    const lines = rig.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const tcpLine = lines.find((l) => l.client === 'logged-tcp' && String(l.msg).includes('asks'));
    const socketLine = lines.find((l) => l.client === 'logged-socket' && String(l.msg).includes('asks'));
    assert.equal(tcpLine?.via, 'tcp');
    assert.ok(Number(tcpLine?.remotePort) > 0, JSON.stringify(tcpLine));
    assert.ok(Number(tcpLine?.connection) > 0);
    assert.equal(socketLine?.via, 'socket');
    assert.ok(Number(socketLine?.connection) > 0);
    denyAll();
  });
});
