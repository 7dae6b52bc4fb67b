import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { call, type CallResult, type Target } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

const HERD = 1000;

describe('token service: a herd on an expired access token (shipped limits)', () => {
  let rig: Rig;
  let secret: string;
  let tcp: Target;
  before(async () => {
    // The shipped limits: no raised bound for the test.
    rig = await startRig({ listen: '127.0.0.1:0' });
    tcp = { host: '127.0.0.1', port: Number(rig.service.tcpAddress!.split(':')[1]) };
    secret = await rig.addClient('herd', ['main']);
  });
  after(() => rig.stop());

  it(`${HERD} concurrent token requests on the socket and ${HERD} on TCP, each its own connection, cause exactly one upstream refresh`, async () => {
    const before = rig.auth.refreshCalls;
    const old = (await rig.broker.getAccessToken('main')).accessToken.reveal();
    rig.auth.hold();
    await rig.clock.advance(3600_000 + 1); // the access token has expired; the refresh is held
    assert.equal(rig.auth.refreshCalls, before + 1, 'the proactive refresh went out and waits');

    // Count the requests that reached the broker, to release PikPak only once all are waiting.
    let arrived = 0;
    const real = rig.broker.getAccessToken.bind(rig.broker);
    rig.broker.getAccessToken = (account) => {
      arrived += 1;
      return real(account);
    };
    const agents = [rig.target, tcp].map(() => new Agent({ keepAlive: true, maxSockets: HERD }));
    try {
      // Connections open in waves of 100, each once the previous one has reached the broker: a
      // burst of 1000 connects overflows the listen backlog (EAGAIN on a Unix socket). All of
      // them are still waiting together when PikPak answers.
      const requests: Promise<CallResult>[] = [];
      for (let wave = 1; wave <= HERD / 100; wave++) {
        for (let i = 0; i < 100; i++)
          for (const [n, target] of [rig.target, tcp].entries())
            requests.push(call(target, '/v1/accounts/main/token', { bearer: secret, agent: agents[n] }));
        for (let i = 0; i < 500 && arrived < wave * 200; i++) await sleep(5);
      }
      assert.equal(arrived, 2 * HERD, 'all requests wait in the service at the same time');
      for (const agent of agents)
        assert.equal(Object.values(agent.sockets).flat().length, HERD, 'each request on its own connection');
      rig.auth.release();
      const answers = await Promise.all(requests);

      assert.equal(rig.auth.refreshCalls, before + 1, 'exactly one upstream refresh for the whole herd');
      assert.equal(rig.auth.invalidGrantCount, 0);
      assert.deepEqual(
        answers.filter((a) => a.status !== 200).map((a) => a.text),
        [],
      );
      const tokens = new Set(answers.map((a) => a.json.access_token as string));
      assert.equal(tokens.size, 1, 'everyone got the same new token');
      assert.ok(!tokens.has(old));
    } finally {
      for (const agent of agents) agent.destroy();
      rig.broker.getAccessToken = real;
    }
  });
});
