/**
 * The app's keychain host over utilityProcess: the fake Electron runs the utility process for
 * real (the same host script as a Node child), against a private gnome-keyring, while this
 * process holds more than 1024 descriptors.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { startPrivateKeyring, usePrivateKeyringInThisProcess } from '../../e2e/support/keyring-session.js';
import { Secret } from '../core/secret.js';
import { KeyringHost } from '../storage/keyring-host-client.js';
import { KeyringSecretStore } from '../storage/keyring-secret-store.js';
import { utilityKeyringHostSpawner } from './keyring-utility-host.js';
import { createFakeElectron } from './testing/fake-electron.js';

const started = await startPrivateKeyring();
const skip = 'skipped' in started ? started.skipped : false;
if (!('skipped' in started)) usePrivateKeyringInThisProcess(started);
after(async () => {
  if (!('skipped' in started)) await started.stop();
});

describe('the keychain host in an Electron utility process', { skip }, () => {
  test('forks keyring-host as a utility process; set and get work with > 1024 descriptors open here', async () => {
    const fake = createFakeElectron();
    const host = new KeyringHost({ spawn: utilityKeyringHostSpawner(fake.electron.utilityProcess) });
    const store = new KeyringSecretStore({
      service: `pkb-utility-${randomUUID().slice(0, 8)}`,
      timeoutMs: 10_000,
      host,
    });
    const held: number[] = [];
    try {
      while (held.length < 1100) held.push(openSync('/dev/null', 'r'));
      await store.set('acct', 'refresh-token', new Secret('via-a-utility-process'));
      assert.equal((await store.get('acct', 'refresh-token'))?.reveal(), 'via-a-utility-process');
    } finally {
      for (const fd of held) closeSync(fd);
    }
    assert.equal(fake.utilityProcesses.length, 1, 'one host for both calls');
    const [child] = fake.utilityProcesses;
    assert.match(child!.modulePath, /main[/\\]storage[/\\]keyring-host\.ts$/);
    assert.deepEqual(child!.args, [], 'nothing on its command line');
    assert.equal(child!.options.serviceName, 'PikPak Token Broker keychain');
    await store.delete('acct', 'refresh-token');
  });

  test('a call past its deadline kills the utility process; the next call gets a fresh one', async () => {
    const fake = createFakeElectron();
    const host = new KeyringHost({ spawn: utilityKeyringHostSpawner(fake.electron.utilityProcess) });
    const store = new KeyringSecretStore({
      service: `pkb-utility-${randomUUID().slice(0, 8)}`,
      timeoutMs: 1,
      host,
    });
    await assert.rejects(store.get('acct', 'refresh-token'), { reason: 'locked' }); // 1 ms: past it at once
    const first = fake.utilityProcesses[0]!;
    // Polled: the unref'd child's exit alone would not keep this test's event loop alive.
    const until = Date.now() + 5_000;
    while (first.pid !== undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(first.pid, undefined, 'the first host is gone');
    const patient = new KeyringSecretStore({ service: store.service, timeoutMs: 10_000, host });
    assert.equal(await patient.get('acct', 'refresh-token'), undefined);
    assert.equal(fake.utilityProcesses.length, 2);
  });
});
