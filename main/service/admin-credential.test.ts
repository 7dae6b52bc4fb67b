import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AdminCredential } from './admin-credential.js';
import { AdminCredentialError } from './errors/index.js';
import { captureLog } from './testing/service-rig.js';

const posix = process.platform !== 'win32';

describe('AdminCredential', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'pkb-adm-')), 'data');
  });
  afterEach(() => rm(join(dataDir, '..'), { recursive: true, force: true }));

  it('is created at first start (0600, pkb_admin_ + 256 bits) and kept afterwards', async () => {
    const created = await AdminCredential.loadOrCreate({ dataDir });
    const token = await AdminCredential.read(dataDir);
    assert.match(token.reveal(), /^pkb_admin_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.matches(token), true);
    assert.equal(created.matches(`${token.reveal()}x`), false);
    assert.equal(created.matches(''), false);
    if (posix) {
      assert.equal((await stat(created.path)).mode & 0o777, 0o600);
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    }
    const reloaded = await AdminCredential.loadOrCreate({ dataDir });
    assert.equal(reloaded.matches(token), true, 'the same token after a restart');
  });

  it('the CLI side reports a missing credential clearly', async () => {
    await assert.rejects(AdminCredential.read(dataDir), (error: unknown) => {
      assert.ok(error instanceof AdminCredentialError);
      assert.equal(error.problem, 'missing');
      assert.match(error.message, /start the broker/);
      return true;
    });
  });

  it('a malformed file is refused and left alone', async () => {
    await AdminCredential.loadOrCreate({ dataDir });
    const path = join(dataDir, 'admin.token');
    await writeFile(path, 'hunter2\n');
    await assert.rejects(AdminCredential.loadOrCreate({ dataDir }), AdminCredentialError);
    await assert.rejects(AdminCredential.read(dataDir), AdminCredentialError);
    assert.equal(await readFile(path, 'utf8'), 'hunter2\n');
  });

  it(
    'a token others could read is treated as leaked and replaced',
    { skip: !posix && 'no Unix modes' },
    async () => {
      await AdminCredential.loadOrCreate({ dataDir });
      const path = join(dataDir, 'admin.token');
      const old = await AdminCredential.read(dataDir);
      await chmod(path, 0o644);
      await assert.rejects(
        AdminCredential.read(dataDir),
        (e: unknown) => e instanceof AdminCredentialError && e.problem === 'shared',
      );
      const log = captureLog();
      const fresh = await AdminCredential.loadOrCreate({ dataDir, log });
      assert.equal(fresh.matches(old), false, 'the old token no longer works');
      const now = await AdminCredential.read(dataDir);
      assert.equal(fresh.matches(now), true);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.match(log.text(), /readable by other users/);
      assert.ok(!log.text().includes(now.reveal()) && !log.text().includes(old.reveal()));
    },
  );
});
