/**
 * The file store under the real Vault and Keeper, unchanged: a rotated refresh token is in
 * secrets.age (on disk, decryptable) before the new access token is handed out — the same
 * write-ahead rule as with the keychain (keeper.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Keeper, type AccountRecordStore } from '../core/keeper.js';
import { silentLogger, type AccountRecord } from '../core/ports.js';
import { FakeAuth } from '../core/testing/fake-auth.js';
import { FakeClock, seededRandom } from '../core/testing/fake-clock.js';
import { Vault } from '../core/vault.js';
import { createIdentityFile } from './age-identity.js';
import { AgeFileSecretStore } from './age-file-secret-store.js';
import { writeFileDurably } from './durable-write.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

class Records implements AccountRecordStore {
  record: AccountRecord = {
    name: 'main',
    username: 'user@example.com',
    platform: 'android',
    deviceId: 'dev-1',
    rememberPassword: false,
    createdAt: 0,
  };
  get(name: string): AccountRecord | undefined {
    return name === 'main' ? this.record : undefined;
  }
  async update(_name: string, patch: Partial<AccountRecord>): Promise<void> {
    this.record = { ...this.record, ...patch };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Keeper + Vault over AgeFileSecretStore', () => {
  it('writes each rotated refresh token to secrets.age before handing out the access token', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pkb-age-vault-'));
    roots.push(root);
    const dataDir = join(root, 'data');
    const identity = await createIdentityFile(join(root, 'identity'));
    let gate: Promise<void> | undefined;
    let openGate = (): void => undefined;
    const store = await AgeFileSecretStore.open({
      dataDir,
      identity,
      writeFile: async (path, data) => {
        if (gate) await gate;
        await writeFileDurably(path, data);
      },
    });
    const auth = new FakeAuth();
    await store.set('main', 'refresh-token', auth.mint());
    const clock = new FakeClock();
    const keeper = new Keeper({
      account: 'main',
      records: new Records(),
      vault: new Vault(store, silentLogger),
      auth,
      clock,
      random: seededRandom(3),
      log: silentLogger,
    });
    await keeper.start();
    const onDisk = async (): Promise<string | undefined> =>
      (await (await AgeFileSecretStore.open({ dataDir, identity })).get('main', 'refresh-token'))?.reveal();

    for (let rotation = 0; rotation < 5; rotation++) {
      const old = await keeper.getAccessToken();
      gate = new Promise<void>((resolve) => (openGate = resolve));
      let handedOut = false;
      const pending = keeper.refreshNow().then((view) => {
        handedOut = true;
        return view;
      });
      await pause(150); // PikPak answered; the file write is held at the gate
      assert.equal(handedOut, false, 'no new access token while the rotated refresh token is not on disk');
      assert.equal(
        (await keeper.getAccessToken()).accessToken.reveal(),
        old.accessToken.reveal(),
        'others still get the old one',
      );
      const newest = auth.issued.at(-1)!.token;
      assert.notEqual(await onDisk(), newest, 'not yet written');
      gate = undefined;
      openGate();
      const view = await pending;
      assert.notEqual(view.accessToken.reveal(), old.accessToken.reveal());
      assert.equal(await onDisk(), newest, 'secrets.age holds the newest refresh token');
    }
    assert.equal(auth.invalidGrantCount, 0);
    await keeper.stop?.();
  });
});
