import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeychainUnavailableError } from '../core/errors/index.js';
import type { Secret } from '../core/secret.js';
import { MemorySecretStore } from '../storage/memory-secret-store.js';
import { captureLog } from '../service/testing/service-rig.js';
import { LeafCache } from './leaf-cache.js';
import { CA_CERT_FILE, CA_KEY_ACCOUNT, CA_KEY_KIND, LocalCa } from './local-ca.js';
import { readNameConstraints } from './name-constraints.js';
import { crypto, x509 } from './x509.js';

const HOUR = 3600_000;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('bridge local CA: properties', () => {
  let ca: LocalCa;
  let keyPem: Secret;
  before(async () => ({ ca, keyPem } = await LocalCa.generate()));

  it('is an ECDSA P-256 CA that may sign leaves only (BasicConstraints CA, pathLen 0, critical)', () => {
    const cert = ca.certificate;
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc);
    assert.equal(bc.ca, true);
    assert.equal(bc.pathLength, 0);
    assert.equal(bc.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(ku && ku.critical);
    assert.ok(ku.usages & x509.KeyUsageFlags.keyCertSign);
    assert.equal(ku.usages & x509.KeyUsageFlags.digitalSignature, 0, 'not a server key');
    assert.equal((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
    assert.ok(new NodeX509(ca.certPem).ca, "Node's own parser agrees it is a CA");
    assert.ok(cert.notAfter.getTime() - Date.now() > 5 * 365 * 24 * HOUR);
  });

  it('is name-constrained (critical) to mypikpak.com and mypikpak.net, every IP address excluded', () => {
    const constraints = readNameConstraints(ca.certificate);
    assert.deepEqual(constraints, {
      critical: true,
      permittedDns: ['mypikpak.com', 'mypikpak.net'],
      excludedIps: ['0.0.0.0/0', '::/0'],
      other: 0,
    });
  });

  it('shows the constraint to OpenSSL', { skip: !hasOpenssl && 'openssl is not installed' }, () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
      input: ca.certPem,
      encoding: 'utf8',
    });
    assert.match(
      text,
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:mypikpak\.com\s+DNS:mypikpak\.net/,
    );
    assert.match(text, /Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
    assert.match(text, /CA:TRUE, pathlen:0/);
  });

  it(
    'a leaf outside PikPak’s domains, even signed with the CA key, fails verification',
    { skip: !hasOpenssl && 'openssl is not installed' },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pkb-ca-'));
      try {
        const good = await ca.issueLeaf('user.mypikpak.net');
        const evil = await signAnyName(ca, keyPem, 'accounts.example.com');
        await writeFile(join(dir, 'ca.pem'), ca.certPem);
        await writeFile(
          join(dir, 'good.pem'),
          good.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
        );
        await writeFile(join(dir, 'evil.pem'), evil);
        const verify = (file: string) =>
          spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, file)], {
            encoding: 'utf8',
          });
        const ok = verify('good.pem');
        assert.equal(ok.status, 0, ok.stdout + ok.stderr);
        const bad = verify('evil.pem');
        assert.notEqual(bad.status, 0);
        assert.match(bad.stdout + bad.stderr, /permitted subtree violation/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('issues ~24 h leaves for one PikPak host name (SAN, serverAuth), chained to the CA', async () => {
    const leaf = await ca.issueLeaf('User.MyPikPak.com.');
    const [leafPem] = leaf.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    const cert = new NodeX509(leafPem!);
    assert.equal(cert.subjectAltName, 'DNS:user.mypikpak.com');
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(new NodeX509(ca.certPem)));
    assert.ok(cert.verify(new NodeX509(ca.certPem).publicKey));
    assert.equal(cert.checkHost('user.mypikpak.com'), 'user.mypikpak.com');
    assert.equal(cert.checkHost('user.mypikpak.net'), undefined);
    const validFor = Date.parse(cert.validTo) - Date.now();
    assert.ok(validFor > 23 * HOUR && validFor <= 24 * HOUR + 1000, `valid for ${validFor} ms`);
    assert.ok(Date.parse(cert.validFrom) < Date.now(), 'already valid (backdated a little)');
    assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
    assert.ok(leaf.certChainPem.endsWith(ca.certPem), 'the chain ends with the CA');
    assert.equal(String(leaf.keyPem), '[redacted]');
  });

  it('refuses to issue for any other name', async () => {
    for (const host of ['example.com', 'mypikpak.com.evil.com', 'evilmypikpak.com', '127.0.0.1', ''])
      await assert.rejects(ca.issueLeaf(host), /signs only for/, host);
  });
});

describe('bridge local CA: keychain and data folder', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'pkb-ca-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps the key in the keychain and only the certificate in the data folder', async () => {
    const dataDir = join(dir, 'a');
    const secrets = new MemorySecretStore();
    const ca = await LocalCa.loadOrCreate({ dataDir, secrets });
    assert.equal(ca.created, true);
    const key = secrets.peek(CA_KEY_ACCOUNT, CA_KEY_KIND);
    assert.ok(key, 'key in the keychain');
    assert.match(key.reveal(), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(await readFile(join(dataDir, CA_CERT_FILE), 'utf8'), ca.certPem);
    const files = await readdir(dataDir);
    assert.deepEqual(files, [CA_CERT_FILE]);
    for (const file of files) {
      const text = await readFile(join(dataDir, file), 'utf8');
      assert.ok(!text.includes('PRIVATE KEY'), `${file} holds a private key`);
      assert.ok(!text.includes(key.reveal().split('\n')[1]!), `${file} holds key material`);
    }
  });

  it('loads the same CA again without touching the keychain entry', async () => {
    const dataDir = join(dir, 'b');
    const secrets = new MemorySecretStore();
    const first = await LocalCa.loadOrCreate({ dataDir, secrets });
    const writes = secrets.calls.filter((c) => c.op === 'set').length;
    const second = await LocalCa.loadOrCreate({ dataDir, secrets });
    assert.equal(second.created, false);
    assert.equal(second.certPem, first.certPem);
    assert.equal(secrets.calls.filter((c) => c.op === 'set').length, writes);
    // The loaded key signs leaves the CA certificate verifies.
    const leaf = await second.issueLeaf('user.mypikpak.net');
    const [leafPem] = leaf.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.ok(new NodeX509(leafPem!).verify(new NodeX509(first.certPem).publicKey));
  });

  it('replaces a CA whose key is gone or does not match, and says so', async () => {
    const dataDir = join(dir, 'c');
    const secrets = new MemorySecretStore();
    const first = await LocalCa.loadOrCreate({ dataDir, secrets });
    const other = await LocalCa.generate();
    await secrets.set(CA_KEY_ACCOUNT, CA_KEY_KIND, other.keyPem);
    const log = captureLog();
    const second = await LocalCa.loadOrCreate({ dataDir, secrets, log });
    assert.equal(second.created, true);
    assert.notEqual(second.certPem, first.certPem);
    assert.match(log.text(), /does not belong to the certificate/);
    await secrets.delete(CA_KEY_ACCOUNT, CA_KEY_KIND);
    const third = await LocalCa.loadOrCreate({ dataDir, secrets, log });
    assert.equal(third.created, true);
    assert.match(log.text(), /certificate or its key is missing/);
    assert.ok(!log.text().includes('PRIVATE KEY'));
  });

  it('renews a CA close to its end', async () => {
    const dataDir = join(dir, 'd');
    const secrets = new MemorySecretStore();
    const first = await LocalCa.loadOrCreate({ dataDir, secrets, validityDays: 20 });
    const second = await LocalCa.loadOrCreate({ dataDir, secrets });
    assert.notEqual(second.certPem, first.certPem);
    assert.ok(second.notAfter.getTime() > first.notAfter.getTime());
  });

  it('fails without a keychain and writes nothing (never a key file)', async () => {
    const dataDir = join(dir, 'e');
    const secrets = new MemorySecretStore();
    secrets.setAvailable(false, 'locked');
    await assert.rejects(LocalCa.loadOrCreate({ dataDir, secrets }), KeychainUnavailableError);
    assert.deepEqual(await readdir(dataDir).catch(() => []), []);
  });
});

describe('bridge leaf cache', () => {
  let ca: LocalCa;
  before(async () => ({ ca } = await LocalCa.generate()));

  it('issues one leaf per host and reuses it, also for concurrent callers', async () => {
    const cache = new LeafCache(ca);
    const contexts = await Promise.all([1, 2, 3, 4].map(() => cache.secureContext('user.mypikpak.net')));
    assert.equal(cache.issued, 1);
    assert.ok(contexts.every((c) => c === contexts[0]));
    await cache.secureContext('USER.mypikpak.net.');
    assert.equal(cache.issued, 1, 'host names are compared case- and dot-insensitively');
    await cache.secureContext('user.mypikpak.com');
    assert.equal(cache.issued, 2);
  });

  it('renews a leaf before it expires', async () => {
    let now = Date.now();
    const cache = new LeafCache(ca, { now: () => now, validityMs: 24 * HOUR, renewBeforeMs: HOUR });
    const first = await cache.leaf('user.mypikpak.net');
    now += 22 * HOUR;
    assert.equal(await cache.leaf('user.mypikpak.net'), first, 'still 2 h left: cached');
    now += 1.5 * HOUR;
    const second = await cache.leaf('user.mypikpak.net');
    assert.notEqual(second, first, 'under 1 h left: renewed');
    assert.equal(cache.issued, 2);
  });
});

/** Signs a leaf for any name with the CA's key, bypassing issueLeaf's own check. */
async function signAnyName(ca: LocalCa, keyPem: Secret, name: string): Promise<string> {
  const der = Buffer.from(keyPem.reveal().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const signingKey = await crypto.subtle.importKey(
    'pkcs8',
    der,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01',
      subject: `CN=${name}`,
      issuer: ca.certificate.subject,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + HOUR),
      publicKey: keys.publicKey,
      signingKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }], false),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return `${cert.toString('pem')}\n`;
}
