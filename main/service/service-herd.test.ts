import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { call, type CallResult } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

const HERD = 1000;

describe('token service: a herd on an expired access token', () => {
  let rig: Rig;
  let secret: string;
  before(async () => {
    rig = await startRig({ limits: { maxConnections: HERD + 50 } });
    secret = await rig.addClient('herd', ['main']);
  });
  after(() => rig.stop());

  it(`${HERD} concurrent token requests cause exactly one upstream refresh`, async () => {
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
    const agent = new Agent({ keepAlive: true, maxSockets: HERD });
    try {
      // Connections open in waves of 100, each once the previous one has reached the broker: a
      // burst of 1000 connects overflows the listen backlog (EAGAIN on a Unix socket). All of
      // them are still waiting together when PikPak answers.
      const requests: Promise<CallResult>[] = [];
      for (let wave = 1; wave <= HERD / 100; wave++) {
        for (let i = 0; i < 100; i++)
          requests.push(call(rig.target, '/v1/accounts/main/token', { bearer: secret, agent }));
        for (let i = 0; i < 500 && arrived < wave * 100; i++) await sleep(5);
      }
      assert.equal(arrived, HERD, 'all requests wait in the service at the same time');
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
      agent.destroy();
      rig.broker.getAccessToken = real;
    }
  });
});
