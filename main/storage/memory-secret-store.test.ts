import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeychainUnavailableError } from '../core/errors/index.js';
import type { SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { MemorySecretStore } from './memory-secret-store.js';

test('a SecretStore: set, get, delete, separate kinds and accounts', async () => {
  const store: SecretStore = new MemorySecretStore();
  assert.equal(await store.get('a', 'refresh-token'), undefined);
  await store.set('a', 'refresh-token', new Secret('tok'));
  await store.set('a', 'password', new Secret('pw'));
  assert.equal((await store.get('a', 'refresh-token'))?.reveal(), 'tok');
  assert.equal((await store.get('a', 'password'))?.reveal(), 'pw');
  assert.equal(await store.get('b', 'refresh-token'), undefined);
  await store.delete('a', 'refresh-token');
  assert.equal(await store.get('a', 'refresh-token'), undefined);
  assert.equal((await store.get('a', 'password'))?.reveal(), 'pw');
  await store.delete('nobody', 'password');
  assert.match(store.description, /memory/);
});

test('initial values, peek and size; empty and non-Secret values refused', async () => {
  const store = new MemorySecretStore([
    ['a', 'refresh-token', 'tok'],
    ['b', 'password', new Secret('pw')],
  ]);
  assert.equal(store.size, 2);
  assert.equal(store.peek('a', 'refresh-token')?.reveal(), 'tok');
  assert.equal(store.calls.length, 0, 'peek is not a call');
  await assert.rejects(store.set('a', 'password', new Secret('')), TypeError);
  await assert.rejects(store.set('a', 'password', 'plain' as unknown as Secret), TypeError);
  assert.equal(store.size, 2);
});

test('operations are asynchronous, like the real store', async () => {
  const store = new MemorySecretStore();
  let done = false;
  const setting = store.set('a', 'password', new Secret('x')).then(() => (done = true));
  assert.equal(done, false);
  await setting;
  assert.equal(done, true);
});

test('setAvailable(false) makes every operation throw KeychainUnavailableError until switched back', async () => {
  const store = new MemorySecretStore([['a', 'refresh-token', 'tok']]);
  store.setAvailable(false, 'locked');
  for (const op of [
    () => store.get('a', 'refresh-token'),
    () => store.set('a', 'refresh-token', new Secret('new')),
    () => store.delete('a', 'refresh-token'),
  ]) {
    await assert.rejects(
      op(),
      (error: unknown) => error instanceof KeychainUnavailableError && error.reason === 'locked',
    );
  }
  assert.equal(store.peek('a', 'refresh-token')?.reveal(), 'tok', 'nothing changed while unavailable');
  store.setAvailable(true);
  assert.equal((await store.get('a', 'refresh-token'))?.reveal(), 'tok');
  store.setAvailable(false);
  await assert.rejects(store.get('a', 'refresh-token'), { reason: 'no-session' });
});

test('failNext fails exactly one matching operation with the given error', async () => {
  const store = new MemorySecretStore();
  const custom = new Error('boom');
  store.failNext('set');
  store.failNext('any', custom);
  // the delete does not match the 'set' fault, so the 'any' fault behind it takes it
  await assert.rejects(store.delete('a', 'password'), (error: unknown) => error === custom);
  await assert.rejects(store.set('a', 'password', new Secret('x')), {
    name: 'KeychainUnavailableError',
    reason: 'failed',
  });
  assert.equal(store.peek('a', 'password'), undefined, 'a failed set stores nothing');
  await store.set('a', 'password', new Secret('y'));
  assert.equal(store.peek('a', 'password')?.reveal(), 'y');
  assert.deepEqual(
    store.calls.map((c) => `${c.op}:${c.account}/${c.kind}:${c.outcome}`),
    ['delete:a/password:error', 'set:a/password:error', 'set:a/password:ok'],
  );
});
