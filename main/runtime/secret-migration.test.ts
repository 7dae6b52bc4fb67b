/**
 * migrateSecrets, stopped at every step and run again: at no point is a secret in neither store,
 * and the second run completes. (Real processes killed with SIGKILL at each step:
 * e2e/reliability/secret-store-migrate.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Secret } from '../core/secret.js';
import type { SecretKind } from '../core/ports.js';
import { MemorySecretStore } from '../storage/memory-secret-store.js';
import {
  MIGRATION_FILE,
  MigrationConflictError,
  migrateSecrets,
  readMigrationRecord,
  type MigrationStep,
} from './secret-migration.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const SECRETS: [string, SecretKind, string][] = [
  ['main', 'refresh-token', 'rt-main'],
  ['main', 'password', 'pw-main'],
  ['second', 'refresh-token', 'rt-second'],
  ['_bridge', 'bridge-ca-key', 'ca-key'],
];

class Stop extends Error {}

async function assertNothingLost(source: MemorySecretStore, target: MemorySecretStore): Promise<void> {
  for (const [account, kind, value] of SECRETS) {
    const inSource = await source.get(account, kind);
    const inTarget = await target.get(account, kind);
    assert.ok(inSource?.equals(value) || inTarget?.equals(value), `${account}/${kind} is somewhere`);
  }
}

describe('migrateSecrets', () => {
  for (const side of ['source', 'target'] as const)
    test(`a ${side} store that does not answer fails the run before anything is recorded or moved`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'pkb-migrate-'));
      roots.push(dataDir);
      const source = new MemorySecretStore(SECRETS);
      const target = new MemorySecretStore();
      (side === 'source' ? source : target).setAvailable(false, 'no-session');
      await assert.rejects(
        migrateSecrets({
          dataDir,
          from: 'file',
          to: 'keychain',
          source,
          target,
          accounts: ['main', 'second'],
        }),
        /keychain|Secret Service|D-Bus|session/i,
      );
      assert.deepEqual(await readdir(dataDir), [], 'no migration record keeps the broker from starting');
      assert.equal(await readMigrationRecord(dataDir), undefined);
      for (const [account, kind, value] of SECRETS) assert.ok(source.peek(account, kind)?.equals(value));
      assert.equal(target.size, 0);
    });

  test('moves every secret, verifies, deletes from the source, and removes its record', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pkb-migrate-'));
    roots.push(dataDir);
    const source = new MemorySecretStore(SECRETS);
    const target = new MemorySecretStore();
    const steps: MigrationStep['type'][] = [];
    const result = await migrateSecrets({
      dataDir,
      from: 'keychain',
      to: 'file',
      source,
      target,
      accounts: ['main', 'second', 'gone'],
      onStep: (s) => void steps.push(s.type),
    });
    assert.equal(result.moved.length, 4);
    assert.equal(result.resumed, false);
    for (const [account, kind, value] of SECRETS) {
      assert.ok((await target.get(account, kind))?.equals(value));
      assert.equal(await source.get(account, kind), undefined);
    }
    assert.deepEqual(steps, [
      'recorded',
      'copied',
      'copied',
      'copied',
      'copied',
      'verified',
      'recorded',
      'deleted',
      'deleted',
      'deleted',
      'deleted',
      'done',
    ]);
    assert.deepEqual(await readdir(dataDir), []);
  });

  test('stopped at any step, nothing is lost and running it again completes', async () => {
    for (let stopAt = 0; stopAt < 12; stopAt++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'pkb-migrate-'));
      roots.push(dataDir);
      const source = new MemorySecretStore(SECRETS);
      const target = new MemorySecretStore();
      let n = 0;
      const input = {
        dataDir,
        from: 'keychain' as const,
        to: 'file' as const,
        source,
        target,
        accounts: ['main', 'second'],
      };
      await assert.rejects(
        migrateSecrets({
          ...input,
          onStep: () => {
            if (n++ === stopAt) throw new Stop();
          },
        }),
        Stop,
      );
      await assertNothingLost(source, target);
      if (stopAt < 11) assert.ok(await readMigrationRecord(dataDir), `a record remains after step ${stopAt}`);
      // The other direction is refused while this one is unfinished (it could undo newer values).
      if (stopAt < 11)
        await assert.rejects(
          migrateSecrets({ ...input, from: 'file', to: 'keychain', source: target, target: source }),
          MigrationConflictError,
        );
      const again = await migrateSecrets(input);
      assert.equal(again.resumed, stopAt < 11);
      for (const [account, kind, value] of SECRETS) {
        assert.ok(
          (await target.get(account, kind))?.equals(value),
          `${account}/${kind} in the target (stop ${stopAt})`,
        );
        assert.equal(
          await source.get(account, kind),
          undefined,
          `${account}/${kind} left the source (stop ${stopAt})`,
        );
      }
      assert.deepEqual(await readdir(dataDir), [], `no ${MIGRATION_FILE} left`);
    }
  });

  test('a target that does not read back what was written stops the migration before any delete', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pkb-migrate-'));
    roots.push(dataDir);
    const source = new MemorySecretStore(SECRETS);
    const target = new MemorySecretStore();
    const liar = new MemorySecretStore([['main', 'password', new Secret('something else')]]);
    await assert.rejects(
      migrateSecrets({
        dataDir,
        from: 'keychain',
        to: 'file',
        source,
        target,
        verifier: liar,
        accounts: ['main', 'second'],
      }),
      /Verification failed: .* nothing was deleted/,
    );
    for (const [account, kind, value] of SECRETS) assert.ok((await source.get(account, kind))?.equals(value));
  });
});
