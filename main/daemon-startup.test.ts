/**
 * §5 "start fast": the socket and --listen open before the start-up refresh; /v1/health answers
 * at once; token calls wait for that refresh up to the keeper's wait bound; a taken port names
 * its flag. Real sockets, an in-memory PikPak whose answers the test holds back.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeAuth } from './core/testing/fake-auth.js';
import { FakeSecretStore } from './core/testing/fake-secret-store.js';
import { silentLogger } from './core/ports.js';
import { startDaemon, type DaemonHandle } from './daemon.js';
import { ListenerInUseError } from './service/errors/index.js';
import { ClientRegistry } from './service/client-registry.js';
import { MemorySettingsStore } from './service/testing/memory-settings-store.js';
import { call } from './service/testing/http-client.js';
import type { RuntimeConfig } from './runtime/config.js';

async function setup(): Promise<{
  dir: string;
  config: RuntimeConfig;
  auth: FakeAuth;
  secrets: FakeSecretStore;
  settings: MemorySettingsStore;
  clientSecret: string;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'pkb-start-'));
  const config: RuntimeConfig = {
    dataDir: join(dir, 'data'),
    socketPath: join(dir, 'run', 'broker.sock'),
    keychainService: 'unused',
    upstream: { authBaseUrl: 'http://127.0.0.1:9', driveBaseUrl: 'http://127.0.0.1:9' },
  };
  const auth = new FakeAuth();
  const secrets = new FakeSecretStore();
  secrets.entries.set('main/refresh-token', auth.mint());
  const settings = new MemorySettingsStore();
  await settings.save({
    version: 1,
    accounts: [
      {
        name: 'main',
        username: 'user@example.com',
        platform: 'android',
        deviceId: 'd'.repeat(32),
        rememberPassword: false,
        createdAt: 0,
      },
    ],
  });
  const clients = await ClientRegistry.open({ dataDir: config.dataDir, log: silentLogger });
  const clientSecret = (await clients.add('test', ['main'])).reveal();
  await clients.flush();
  return { dir, config, auth, secrets, settings, clientSecret };
}

describe('daemon start-up: listeners first, then the start-up refresh', () => {
  it('answers /v1/health at once and holds token calls until the first refresh', async () => {
    const { dir, config, auth, secrets, settings, clientSecret } = await setup();
    auth.hold();
    const starting = startDaemon(config, silentLogger, {
      listen: '127.0.0.1:0',
      overrides: { auth, secrets, settings, keeperOptions: { retryWaitMs: 10_000 } },
    });
    let daemon: DaemonHandle | undefined;
    try {
      // The start-up refresh is held: startDaemon has not resolved, yet the socket answers.
      let health: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 200 && !health; i++) {
        health = await call({ socketPath: config.socketPath }, '/v1/health').catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(health?.status, 200);
      assert.equal(auth.refreshCalls, 1, 'the start-up refresh is in flight');

      const token = call({ socketPath: config.socketPath }, '/v1/accounts/main/token', {
        bearer: clientSecret,
      });
      const rejected = call({ socketPath: config.socketPath }, '/v1/accounts/main/token/rejected', {
        method: 'POST',
        bearer: clientSecret,
        body: { access_token: 'an-old-token' },
      });
      await new Promise((r) => setTimeout(r, 150));
      auth.release();
      const answer = await token;
      assert.equal(answer.status, 200, answer.text);
      const afterRejected = await rejected;
      assert.equal(afterRejected.status, 200, afterRejected.text);
      assert.equal(afterRejected.json.access_token, answer.json.access_token);
      assert.equal(typeof answer.json.access_token, 'string');
      daemon = await starting;
      assert.equal(auth.refreshCalls, 1, 'the waiting call joined the start-up refresh');
    } finally {
      auth.release();
      daemon ??= await starting;
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers 503 with Retry-After when the start-up refresh outlasts the wait bound', async () => {
    const { dir, config, auth, secrets, settings, clientSecret } = await setup();
    auth.hold();
    const starting = startDaemon(config, silentLogger, {
      overrides: { auth, secrets, settings, keeperOptions: { retryWaitMs: 200 } },
    });
    try {
      let answer: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 200 && !answer; i++) {
        answer = await call({ socketPath: config.socketPath }, '/v1/accounts/main/token', {
          bearer: clientSecret,
        }).catch(() => undefined);
        if (!answer) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(answer?.status, 503, answer?.text);
      assert.match(answer!.json.error.message, /still starting/);
      assert.ok(Number(answer!.headers['retry-after']) >= 1);
    } finally {
      auth.release();
      await (await starting).stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the flag whose port is taken and takes nothing down with it', async () => {
    const { dir, config, auth, secrets, settings } = await setup();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      for (const flag of ['--listen', '--bridge'] as const) {
        const address = `127.0.0.1:${port}`;
        const error = await startDaemon(config, silentLogger, {
          ...(flag === '--listen' ? { listen: address } : { bridge: address }),
          overrides: { auth, secrets, settings },
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof ListenerInUseError, String(error));
        assert.equal(error.message.startsWith(`${flag} ${address} is in use`), true, error.message);
      }
      assert.equal(auth.refreshCalls, 0, 'nothing was refreshed');
    } finally {
      blocker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
