import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from './ports.js';
import { Secret } from './secret.js';
import { FakeSecretStore } from './testing/fake-secret-store.js';
import { Vault } from './vault.js';

describe('Vault', () => {
  it('keeps a failed write in memory, serves it, and flushes it when the keychain returns', async () => {
    const store = new FakeSecretStore();
    const vault = new Vault(store, silentLogger);
    const statuses: boolean[] = [];
    vault.on('status', (s) => statuses.push(s.available));
    store.available = false;
    assert.equal(await vault.set('a', 'refresh-token', new Secret('rt-new')), false);
    assert.equal(vault.status.available, false);
    assert.equal(vault.status.pendingWrites, 1);
    assert.equal(
      (await vault.get('a', 'refresh-token'))?.reveal(),
      'rt-new',
      'memory answers while unavailable',
    );
    assert.equal(store.entries.size, 0, 'nothing reached the keychain, and no file either');
    store.available = true;
    assert.equal(await vault.flush(), true);
    assert.equal(store.entries.get('a/refresh-token')?.reveal(), 'rt-new');
    assert.equal(vault.status.pendingWrites, 0);
    assert.deepEqual(statuses, [false, true]);
  });

  it('prefers a pending (newer) value over what the keychain still holds', async () => {
    const store = new FakeSecretStore();
    store.entries.set('a/refresh-token', new Secret('rt-old'));
    const vault = new Vault(store, silentLogger);
    store.available = false;
    await vault.set('a', 'refresh-token', new Secret('rt-new'));
    store.available = true;
    assert.equal((await vault.get('a', 'refresh-token'))?.reveal(), 'rt-new');
  });

  it('firstAnswer settles at the keychain’s first answer, a failure included, not before', async () => {
    for (const available of [true, false]) {
      const store = new FakeSecretStore();
      store.available = available;
      const vault = new Vault(store, silentLogger);
      let answered = false;
      void vault.firstAnswer.then(() => (answered = true));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(answered, false, 'nothing asked yet');
      await vault.get('a', 'refresh-token');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(answered, true);
      assert.equal(vault.status.available, available);
    }
  });

  it('reads a token another holder wrote to the keychain', async () => {
    const store = new FakeSecretStore();
    const vault = new Vault(store, silentLogger);
    await vault.set('a', 'refresh-token', new Secret('rt-1'));
    store.entries.set('a/refresh-token', new Secret('rt-2'));
    assert.equal((await vault.get('a', 'refresh-token'))?.reveal(), 'rt-2');
  });

  it('probes writability with a throw-away entry', async () => {
    const store = new FakeSecretStore();
    const vault = new Vault(store, silentLogger);
    assert.equal(await vault.probeWritable(), true);
    assert.equal(store.entries.size, 0, 'the probe entry is removed');
    store.available = false;
    assert.equal(await vault.probeWritable(), false);
    assert.equal(vault.status.available, false);
    assert.match(vault.status.problem ?? '', /locked/);
  });

  it('deletes through the keychain, and remembers a failed delete', async () => {
    const store = new FakeSecretStore();
    store.entries.set('a/password', new Secret('pw'));
    const vault = new Vault(store, silentLogger);
    store.available = false;
    assert.equal(await vault.delete('a', 'password'), false);
    assert.equal(await vault.get('a', 'password'), undefined, 'deleted in memory at once');
    store.available = true;
    await vault.flush();
    assert.equal(store.entries.has('a/password'), false);
  });
});
