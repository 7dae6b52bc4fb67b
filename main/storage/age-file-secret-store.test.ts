/** AgeFileSecretStore and its identity, on real files in a temp folder with real age encryption. */
import assert from 'node:assert/strict';
import { Decrypter, Encrypter } from 'age-encryption';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  IdentityExistsError,
  SecretsFileCorruptError,
  SecretStoreIdentityError,
} from '../core/errors/index.js';
import { Secret } from '../core/secret.js';
import { createIdentityFile, loadIdentity, locateIdentity, type AgeIdentity } from './age-identity.js';
import { AgeFileSecretStore, SECRETS_FILE } from './age-file-secret-store.js';
import { writeFileDurably } from './durable-write.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});
async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pkb-age-store-'));
  roots.push(root);
  return root;
}

async function setup(): Promise<{ dataDir: string; identity: AgeIdentity; root: string }> {
  const root = await tempRoot();
  const dataDir = join(root, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  const identity = await createIdentityFile(join(root, 'keys', 'identity'));
  return { dataDir, identity, root };
}

const TOKEN = 'rt-canary-3b8f1c0e-aaaa';

describe('AgeFileSecretStore', () => {
  test('keeps secrets in one age file (0600) that the identity opens; a new instance reads them back', async () => {
    const { dataDir, identity } = await setup();
    const store = await AgeFileSecretStore.open({ dataDir, identity });
    assert.equal(await store.get('main', 'refresh-token'), undefined);
    await store.set('main', 'refresh-token', new Secret(TOKEN));
    await store.set('main', 'password', new Secret('pw-canary'));
    await store.set('_bridge', 'bridge-ca-key', new Secret('-----BEGIN PRIVATE KEY-----x'));
    const path = join(dataDir, SECRETS_FILE);
    assert.equal(store.path, path);
    assert.match(store.description, /age-encrypted file .*secrets\.age/);
    const raw = await readFile(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.ok(raw.toString('latin1').startsWith('age-encryption.org/v1\n-> X25519 '));
    assert.ok(!raw.includes(TOKEN) && !raw.includes('pw-canary'), 'no plaintext in the file');

    const decrypter = new Decrypter();
    decrypter.addIdentity(identity.key.reveal());
    const doc = JSON.parse(await decrypter.decrypt(new Uint8Array(raw), 'text')) as Record<string, unknown>;
    assert.deepEqual(doc, {
      format: 'pikpak-token-broker/secrets',
      version: 1,
      secrets: {
        _bridge: { 'bridge-ca-key': '-----BEGIN PRIVATE KEY-----x' },
        main: { 'refresh-token': TOKEN, password: 'pw-canary' },
      },
    });

    const again = await AgeFileSecretStore.open({ dataDir, identity });
    assert.equal((await again.get('main', 'refresh-token'))?.reveal(), TOKEN);
    await again.delete('main', 'password');
    assert.equal(await again.get('main', 'password'), undefined);
    // The first instance sees the other's write (the file changed on disk).
    assert.equal(await store.get('main', 'password'), undefined);
    assert.deepEqual(await again.list(), [
      { account: '_bridge', kind: 'bridge-ca-key' },
      { account: 'main', kind: 'refresh-token' },
    ]);
  });

  test('writes one at a time and coalesces the ones that arrive meanwhile; every caller waits for the disk', async () => {
    const { dataDir, identity } = await setup();
    let writes = 0;
    let inFlight = 0;
    const store = await AgeFileSecretStore.open({
      dataDir,
      identity,
      writeFile: async (path, data) => {
        writes += 1;
        inFlight += 1;
        assert.equal(inFlight, 1, 'never two writes at once');
        await new Promise((r) => setTimeout(r, 20));
        await writeFileDurably(path, data);
        inFlight -= 1;
      },
    });
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => store.set(`acct${i}`, 'refresh-token', new Secret(`token-${i}`))),
    );
    assert.ok(writes <= 2, `25 concurrent sets took ${writes} writes`);
    const fresh = await AgeFileSecretStore.open({ dataDir, identity });
    for (let i = 0; i < 25; i++)
      assert.equal((await fresh.get(`acct${i}`, 'refresh-token'))?.reveal(), `token-${i}`);
    // Deleting what is not there writes nothing.
    const before = writes;
    await store.delete('nobody', 'password');
    assert.equal(writes, before);
  });

  test('a failed write rejects its callers, leaves the old file, and the next write works', async () => {
    const { dataDir, identity } = await setup();
    let fail = false;
    const store = await AgeFileSecretStore.open({
      dataDir,
      identity,
      writeFile: async (path, data) => {
        if (fail) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await writeFileDurably(path, data);
      },
    });
    await store.set('main', 'refresh-token', new Secret('gen-1'));
    fail = true;
    await assert.rejects(store.set('main', 'refresh-token', new Secret('gen-2')), /ENOSPC/);
    assert.equal((await store.get('main', 'refresh-token'))?.reveal(), 'gen-1');
    fail = false;
    await store.set('main', 'refresh-token', new Secret('gen-3'));
    const fresh = await AgeFileSecretStore.open({ dataDir, identity });
    assert.equal((await fresh.get('main', 'refresh-token'))?.reveal(), 'gen-3');
    assert.deepEqual((await readdir(dataDir)).sort(), [SECRETS_FILE], 'no temp file left behind');
  });

  test('removes temp files of dead writers on open, keeps those of live ones', async () => {
    const { dataDir, identity } = await setup();
    await writeFile(join(dataDir, `${SECRETS_FILE}.tmp-999999999-abcdef`), 'x');
    await writeFile(join(dataDir, `${SECRETS_FILE}.tmp-${process.ppid}-abcdef`), 'x');
    await AgeFileSecretStore.open({ dataDir, identity });
    assert.deepEqual(await readdir(dataDir), [`${SECRETS_FILE}.tmp-${process.ppid}-abcdef`]);
  });

  test('a wrong identity: SecretStoreIdentityError naming the identity file, the file untouched, no backup', async () => {
    const { dataDir, identity, root } = await setup();
    const store = await AgeFileSecretStore.open({ dataDir, identity });
    await store.set('main', 'refresh-token', new Secret(TOKEN));
    const before = await readFile(join(dataDir, SECRETS_FILE));
    const other = await createIdentityFile(join(root, 'keys', 'other'));
    const error = await AgeFileSecretStore.open({ dataDir, identity: other }).then(
      () => assert.fail('opened with the wrong identity'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SecretStoreIdentityError);
    assert.equal(error.problem, 'mismatch');
    assert.ok(error.message.includes(other.path), error.message);
    assert.ok(error.message.includes(join(dataDir, SECRETS_FILE)));
    assert.deepEqual(await readFile(join(dataDir, SECRETS_FILE)), before);
    assert.deepEqual(await readdir(dataDir), [SECRETS_FILE]);
  });

  test('a damaged file: SecretsFileCorruptError, kept in place, one copy however often it is opened', async () => {
    const { dataDir, identity } = await setup();
    const store = await AgeFileSecretStore.open({ dataDir, identity });
    await store.set('main', 'refresh-token', new Secret(TOKEN));
    const path = join(dataDir, SECRETS_FILE);
    const damaged = await readFile(path);
    damaged[damaged.length - 3]! ^= 0xff; // inside the encrypted payload: its tag no longer matches
    await writeFile(path, damaged);
    for (let i = 0; i < 3; i++) {
      const error = await AgeFileSecretStore.open({ dataDir, identity }).then(
        () => assert.fail('opened a damaged file'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof SecretsFileCorruptError, String(error));
      assert.ok(error.backupPath?.startsWith(`${path}.corrupt-`));
      assert.deepEqual(await readFile(error.backupPath!), damaged);
    }
    assert.deepEqual(await readFile(path), damaged, 'the file is kept as it was');
    assert.equal((await readdir(dataDir)).filter((n) => n.includes('.corrupt-')).length, 1);
    // The store already open does not overwrite it either: its write fails, the file stays.
    await assert.rejects(store.set('main', 'refresh-token', new Secret('gen-2')), SecretsFileCorruptError);
    assert.deepEqual(await readFile(path), damaged);
  });

  test('not age at all, or age holding something else, is corrupt; the message never quotes a value', async () => {
    const { dataDir, identity } = await setup();
    const path = join(dataDir, SECRETS_FILE);
    await writeFile(path, 'plain text, not age\n');
    await assert.rejects(AgeFileSecretStore.open({ dataDir, identity }), SecretsFileCorruptError);
    const encrypter = new Encrypter();
    encrypter.addRecipient(identity.recipient);
    await writeFile(
      path,
      await encrypter.encrypt(
        JSON.stringify({
          format: 'pikpak-token-broker/secrets',
          version: 1,
          secrets: { main: { 'refresh-token': 42, leaked: TOKEN } },
        }),
      ),
    );
    const error = await AgeFileSecretStore.open({ dataDir, identity }).catch((e: unknown) => e);
    assert.ok(error instanceof SecretsFileCorruptError);
    assert.match(error.message, /unexpected content at secrets\.main/);
    assert.ok(!error.message.includes(TOKEN));
    await writeFile(
      path,
      await encrypter.encrypt(
        JSON.stringify({ format: 'pikpak-token-broker/secrets', version: 2, secrets: {} }),
      ),
    );
    await assert.rejects(AgeFileSecretStore.open({ dataDir, identity }), /unexpected content at version/);
  });

  test('refuses empty values and empty account names, writing nothing', async () => {
    const { dataDir, identity } = await setup();
    const store = await AgeFileSecretStore.open({ dataDir, identity });
    await assert.rejects(store.set('main', 'password', new Secret('')), TypeError);
    await assert.rejects(store.set('', 'password', new Secret('x')), TypeError);
    assert.deepEqual(await readdir(dataDir), []);
  });
});

describe('age identity files', () => {
  test('init writes age-keygen format, 0600, in a 0700 folder it creates, and never overwrites', async () => {
    const root = await tempRoot();
    const path = join(root, 'new', 'identity');
    const made = await createIdentityFile(path, () => Date.UTC(2026, 0, 1));
    assert.match(made.recipient, /^age1[0-9a-z]{58}$/);
    const text = await readFile(path, 'utf8');
    assert.match(text, /^# created: 2026-01-01T00:00:00\.000Z\n# public key: age1/);
    assert.match(text, /\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'new'))).mode & 0o777, 0o700);
    await assert.rejects(createIdentityFile(path), IdentityExistsError);
    assert.equal(await readFile(path, 'utf8'), text, 'the existing identity is untouched');
    const loaded = await loadIdentity({ path, source: 'flag' });
    assert.equal(loaded.recipient, made.recipient);
    assert.ok(loaded.key.equals(made.key));
  });

  test('a missing, unreadable, malformed or non-private identity is refused with the file named', async () => {
    const root = await tempRoot();
    const dir = join(root, 'keys');
    await mkdir(dir, { mode: 0o700 });
    const path = join(dir, 'identity');
    const problem = async (p: string): Promise<string> => {
      const error = await loadIdentity({ path: p, source: 'flag' }).catch((e: unknown) => e);
      assert.ok(error instanceof SecretStoreIdentityError, String(error));
      assert.ok(error.message.includes(p), error.message);
      return error.problem;
    };
    assert.equal(await problem(path), 'missing');
    await writeFile(path, '# nothing here\n', { mode: 0o600 });
    assert.equal(await problem(path), 'invalid');
    await writeFile(path, 'AGE-SECRET-KEY-1NOTAKEY\n');
    assert.equal(await problem(path), 'invalid');
    await rm(path);
    await createIdentityFile(path);
    await chmod(path, 0o644);
    assert.equal(await problem(path), 'insecure');
    await chmod(path, 0o600);
    await chmod(dir, 0o777);
    assert.equal(await problem(path), 'insecure');
    await chmod(dir, 0o700);
    await loadIdentity({ path, source: 'flag' });
    const none = await loadIdentity(undefined).catch((e: unknown) => e);
    assert.ok(none instanceof SecretStoreIdentityError && none.problem === 'missing');
    assert.match(none.message, /secret-store init --identity-file PATH/);
  });

  test('the identity comes from --identity-file, else from systemd credentials', () => {
    assert.deepEqual(locateIdentity('/k/id', { CREDENTIALS_DIRECTORY: '/run/credentials/x' }), {
      path: '/k/id',
      source: 'flag',
    });
    assert.deepEqual(locateIdentity(undefined, { CREDENTIALS_DIRECTORY: '/run/credentials/x' }), {
      path: '/run/credentials/x/identity',
      source: 'systemd',
    });
    assert.equal(locateIdentity(undefined, {}), undefined);
    assert.equal(locateIdentity(undefined, { CREDENTIALS_DIRECTORY: 'relative' }), undefined);
  });
});
