import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../core/testing/fake-clock.js';
import { digestHex } from './bearer.js';
import { ClientRegistry } from './client-registry.js';
import {
  ClientExistsError,
  ClientNotFoundError,
  ClientRegistryCorruptError,
  InvalidClientError,
} from './errors/index.js';

describe('ClientRegistry', () => {
  let dataDir: string;
  let clock: FakeClock;
  beforeEach(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'pkb-reg-')), 'data');
    clock = new FakeClock();
  });
  afterEach(() => rm(join(dataDir, '..'), { recursive: true, force: true }));

  const open = () => ClientRegistry.open({ dataDir, clock, lastUsedWriteDelayMs: 60_000 });
  const file = async () => JSON.parse(await readFile(join(dataDir, 'clients.json'), 'utf8'));

  it('add returns a 256-bit secret once and stores only its SHA-256, 0600', async () => {
    const reg = await open();
    const secret = await reg.add('alist', ['main']);
    assert.match(secret.reveal(), /^pkb_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(secret.reveal().slice(4), 'base64url').length, 32);
    assert.equal(String(secret), '[redacted]');
    const raw = await readFile(join(dataDir, 'clients.json'), 'utf8');
    assert.ok(!raw.includes(secret.reveal()));
    const data = await file();
    assert.deepEqual(data, {
      version: 1,
      clients: [{ name: 'alist', accounts: ['main'], secretHash: digestHex(secret), createdAt: clock.now() }],
    });
    assert.equal((await stat(join(dataDir, 'clients.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
  });

  it('secrets differ every time', async () => {
    const reg = await open();
    const a = await reg.add('a', ['main']);
    const b = await reg.add('b', ['main']);
    assert.notEqual(a.reveal(), b.reveal());
  });

  it('authenticates the right client, survives a reload, and forgets revoked ones', async () => {
    const reg = await open();
    const a = await reg.add('a', ['main']);
    const b = await reg.add('b', ['*']);
    assert.equal(reg.authenticate(a.reveal())?.name, 'a');
    assert.equal(reg.authenticate(b)?.name, 'b');
    assert.equal(reg.authenticate('pkb_nope'), undefined);
    assert.equal(reg.authenticate(''), undefined);
    assert.equal(reg.authenticate(digestHex(a)), undefined, 'the stored hash is not a credential');

    const again = await open();
    assert.equal(again.authenticate(a.reveal())?.name, 'a');
    await again.revoke('a');
    assert.equal(again.authenticate(a.reveal()), undefined);
    assert.equal((await open()).authenticate(a.reveal()), undefined, 'revocation is persisted');
    await assert.rejects(again.revoke('a'), ClientNotFoundError);
  });

  it('compares against every stored hash (no early exit on a match)', async () => {
    // Two entries with the same hash (never issued like that; written here by hand): a loop that
    // stopped at the first match would answer "first"; a full scan ends on "second".
    const hash = digestHex('pkb_shared');
    await writeFile(
      join(await ensureDir(dataDir), 'clients.json'),
      JSON.stringify({
        version: 1,
        clients: [
          { name: 'first', accounts: ['main'], secretHash: hash, createdAt: 0 },
          { name: 'other', accounts: ['main'], secretHash: 'c'.repeat(64), createdAt: 0 },
          { name: 'second', accounts: ['main'], secretHash: hash, createdAt: 0 },
        ],
      }),
    );
    const reg = await open();
    assert.equal(reg.authenticate('pkb_shared')?.name, 'second');
  });

  it('scopes: names, or "*" for all; validates names', async () => {
    const reg = await open();
    await reg.add('one', ['main', 'main', 'second']);
    await reg.add('all', ['*']);
    const one = reg.get('one')!;
    assert.deepEqual(one.accounts, ['main', 'second'], 'deduplicated');
    assert.equal(ClientRegistry.allows(one, 'main'), true);
    assert.equal(ClientRegistry.allows(one, 'other'), false);
    assert.equal(ClientRegistry.allows(reg.get('all')!, 'anything'), true);
    await assert.rejects(reg.add('one', ['main']), ClientExistsError);
    await assert.rejects(reg.add('bad name', ['main']), InvalidClientError);
    await assert.rejects(reg.add('x', []), InvalidClientError);
    await assert.rejects(reg.add('x', ['*', 'main']), InvalidClientError);
    await assert.rejects(reg.add('x', ['../etc']), InvalidClientError);
    assert.deepEqual(
      reg.list().map((c) => c.name),
      ['one', 'all'],
    );
  });

  it('lastUsedAt is kept in memory and written once per delay, not per request', async () => {
    const reg = await open();
    const secret = await reg.add('a', ['main']);
    const before = await readFile(join(dataDir, 'clients.json'), 'utf8');
    await clock.advance(1000);
    for (let i = 0; i < 100; i++) reg.authenticate(secret.reveal());
    assert.equal(reg.get('a')!.lastUsedAt, clock.now());
    assert.equal(await readFile(join(dataDir, 'clients.json'), 'utf8'), before, 'no write per request');
    assert.equal(clock.pendingTimers, 1, 'one debounced write');
    await clock.advance(60_000);
    await reg.flush();
    assert.equal((await file()).clients[0].lastUsedAt, clock.now() - 60_000);
    reg.authenticate(secret.reveal());
    await reg.close();
    assert.equal((await file()).clients[0].lastUsedAt, clock.now(), 'close flushes');
  });

  it('a corrupt file is a typed error and is left untouched', async () => {
    const path = join(dataDir, 'clients.json');
    const reg = await open();
    await reg.add('a', ['main']);
    for (const content of [
      '{not json',
      JSON.stringify({ version: 2, clients: [] }),
      JSON.stringify({
        version: 1,
        clients: [{ name: 'a', accounts: ['main'], secretHash: 'pkb_plain', createdAt: 0 }],
      }),
      JSON.stringify({
        version: 1,
        clients: [
          { name: 'a', accounts: ['main'], secretHash: 'a'.repeat(64), createdAt: 0 },
          { name: 'a', accounts: ['main'], secretHash: 'b'.repeat(64), createdAt: 0 },
        ],
      }),
    ]) {
      await writeFile(path, content);
      await assert.rejects(open(), (error: unknown) => {
        assert.ok(error instanceof ClientRegistryCorruptError);
        assert.equal(error.path, path);
        assert.ok(!error.message.includes('pkb_plain'), 'the content is not quoted');
        return true;
      });
      assert.equal(await readFile(path, 'utf8'), content, 'left as it was');
    }
  });
});

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
