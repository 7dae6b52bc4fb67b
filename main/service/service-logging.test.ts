import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, openEvents } from './testing/http-client.js';
import { startRig } from './testing/service-rig.js';

describe('token service: logs', () => {
  it('one debug line per request (method, path without query, status, ms, client) and no secret anywhere', async () => {
    const rig = await startRig();
    try {
      const secret = await rig.addClient('alist', ['main']);
      const token = (await rig.broker.getAccessToken('main')).accessToken.reveal();
      rig.log.lines.length = 0;

      await call(rig.target, '/v1/accounts/main/token?secret=querystring', { bearer: secret });
      const line = JSON.parse(rig.log.lines.at(-1)!);
      assert.equal(line.level, 'debug');
      assert.equal(line.method, 'GET');
      assert.equal(line.path, '/v1/accounts/main/token');
      assert.equal(line.status, 200);
      assert.equal(typeof line.ms, 'number');
      assert.equal(line.client, 'alist');
      assert.equal(rig.log.lines.length, 1, 'exactly one line');

      // Exercise every path a secret travels: header, bodies, PikPak endpoints, errors, events.
      await call(rig.target, '/v1/accounts/main/token', { bearer: `${secret}x` });
      await call(rig.target, '/v1/accounts/main/token/rejected', {
        bearer: secret,
        body: { access_token: token },
      });
      await call(rig.target, '/v1/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token: secret },
      });
      await call(rig.target, '/v1/auth/signin', {
        body: new URLSearchParams({ username: 'user@example.com', password: secret }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await call(rig.target, '/v1/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token: rig.adminToken },
      });
      const added = await call(rig.target, '/v1/admin/clients', {
        bearer: rig.adminToken,
        body: { name: 'second', accounts: ['*'] },
      });
      await call(rig.target, '/v1/admin/login', {
        bearer: rig.adminToken,
        body: {
          account: 'main',
          username: 'user@example.com',
          password: 'right-password',
          platform: 'android',
        },
      });
      await call(rig.target, '/v1/accounts/main/refresh', { method: 'POST', bearer: rig.adminToken });
      const stream = await openEvents(rig.target, secret);
      await stream.waitFor((e) => e.event === 'state');
      stream.close();
      await rig.clients.flush();

      const newest = (await rig.broker.getAccessToken('main')).accessToken.reveal();
      const log = rig.log.text();
      for (const [what, value] of [
        ['client secret', secret],
        ['second client secret', added.json.secret as string],
        ['admin token', rig.adminToken],
        ['access token', token],
        ['newest access token', newest],
        ['password', 'right-password'],
        ['query string', 'querystring'],
      ] as const)
        assert.ok(!log.includes(value), `the ${what} must not appear in the log`);
      for (const rt of rig.auth.issued) assert.ok(!log.includes(`"${rt.token}"`), 'no refresh token');
      assert.ok(!/authorization/i.test(log), 'no Authorization header');

      const file = await readFile(join(rig.dataDir, 'clients.json'), 'utf8');
      assert.ok(
        !file.includes(secret) && !file.includes(added.json.secret as string),
        'clients.json: hashes only',
      );
    } finally {
      await rig.stop();
    }
  });
});
