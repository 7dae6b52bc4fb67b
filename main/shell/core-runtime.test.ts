import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LockHeldError } from '../core/errors/index.js';
import { FakeSecretStore } from '../core/testing/fake-secret-store.js';
import type { RuntimeConfig } from '../runtime/config.js';
import { startCore } from './core-runtime.js';
import { captureLog } from './testing/shell-rig.js';

async function folders() {
  const dir = await mkdtemp(join(tmpdir(), 'pkb-core-'));
  const config: RuntimeConfig = {
    dataDir: join(dir, 'data'),
    socketPath: join(dir, 'run', 'b.sock'),
    keychainService: 'pkb-core-test',
    upstream: { authBaseUrl: 'http://127.0.0.1:9', driveBaseUrl: 'http://127.0.0.1:9' },
  };
  return { dir, config };
}

describe('the core in the app: the daemon’s core plus approvals and the bridge', () => {
  it('takes the instance lock, runs the bridge, and stops everything in order', async () => {
    const { dir, config } = await folders();
    const events: string[] = [];
    try {
      const core = await startCore({
        config,
        log: captureLog(),
        bridge: { enabled: true, port: 15288 },
        startBridge: async ({ port }) => {
          events.push(`bridge start ${port}`);
          return {
            address: `127.0.0.1:${port}`,
            proxyUrl: `http://127.0.0.1:${port}`,
            close: async () => void events.push('bridge close'),
          };
        },
        daemonOptions: { overrides: { secrets: new FakeSecretStore() } },
      });
      assert.deepEqual(core.bridge.view(), {
        state: 'running',
        address: '127.0.0.1:15288',
        message:
          "AList's HTTPS_PROXY is http://alist:<CLIENT_SECRET>@127.0.0.1:15288, with a client secret as <CLIENT_SECRET>",
      });
      const holder = JSON.parse(await readFile(join(config.dataDir, 'broker.lock'), 'utf8')) as {
        pid: number;
      };
      assert.equal(holder.pid, process.pid);

      // One refresher per machine: a second core (or a daemon) is refused while this one runs.
      await assert.rejects(
        startCore({
          config,
          log: captureLog(),
          bridge: { enabled: false, port: 1 },
          startBridge: async () => assert.fail('not reached'),
          daemonOptions: { overrides: { secrets: new FakeSecretStore() } },
        }),
        LockHeldError,
      );

      await core.stop('test');
      await core.closed;
      assert.deepEqual(events, ['bridge start 15288', 'bridge close']);
      await assert.rejects(readFile(join(config.dataDir, 'broker.lock')), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a bridge that cannot start leaves the rest running and says why; off means off', async () => {
    const { dir, config } = await folders();
    try {
      const core = await startCore({
        config,
        log: captureLog(),
        bridge: { enabled: true, port: 18798 },
        startBridge: async () => {
          throw new Error('address in use');
        },
        daemonOptions: { overrides: { secrets: new FakeSecretStore() } },
      });
      assert.equal(core.bridge.view().state, 'failed');
      assert.match(core.bridge.view().message, /127\.0\.0\.1:18798: address in use/);
      assert.deepEqual(core.broker.accountNames(), []);
      await core.stop();

      const off = await startCore({
        config,
        log: captureLog(),
        bridge: { enabled: false, port: 18798 },
        startBridge: async () => assert.fail('the bridge is off'),
        daemonOptions: { overrides: { secrets: new FakeSecretStore() } },
      });
      assert.equal(off.bridge.view().state, 'off');
      await off.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
