import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeychainUnavailableError } from '../core/errors/index.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  NameConstraints,
  id_ce_nameConstraints,
} from '@peculiar/asn1-x509';
import { Secret as SecretValue, type Secret } from '../core/secret.js';
import { MemorySecretStore } from '../storage/memory-secret-store.js';
import { captureLog } from '../service/testing/service-rig.js';
import { LeafCache } from './leaf-cache.js';
import { CA_CERT_FILE, CA_KEY_ACCOUNT, CA_KEY_KIND, LocalCa } from './local-ca.js';
import { readNameConstraints } from './name-constraints.js';
import { crypto, x509 } from './x509.js';

const HOUR = 3600_000;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const hasGo = spawnSync('go', ['version']).status === 0;
const hasPurpose = (name: string): boolean =>
  spawnSync('openssl', ['verify', '-purpose', 'help'], { encoding: 'utf8' }).stdout.includes(name);

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

  it('is name-constrained (critical) to mypikpak.com and mypikpak.net, every IP address, e-mail and URI excluded', () => {
    const constraints = readNameConstraints(ca.certificate);
    assert.deepEqual(constraints, {
      critical: true,
      permittedDns: ['mypikpak.com', 'mypikpak.net'],
      excludedIps: ['0.0.0.0/0', '::/0'],
      excludedEmail: [''],
      excludedUri: [''],
      other: 0,
    });
  });

  it('is for TLS servers only: extended key usage serverAuth alone, on the CA and on its leaves', async () => {
    const eku = ca.certificate.getExtension(x509.ExtendedKeyUsageExtension);
    assert.ok(eku, 'the CA has an extended key usage');
    assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth]);
    const leaf = await ca.issueLeaf('user.mypikpak.net');
    const leafCert = new x509.X509Certificate(
      leaf.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
    );
    assert.deepEqual(
      [...(leafCert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth],
    );
    assert.deepEqual(new NodeX509(ca.certPem).keyUsage, ['1.3.6.1.5.5.7.3.1'], "Node's parser agrees");
  });

  it(
    'OpenSSL accepts its leaves for a TLS server and for nothing else',
    { skip: !hasOpenssl && 'openssl is not installed' },
    async () => {
      const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
        input: ca.certPem,
        encoding: 'utf8',
      });
      assert.match(text, /Excluded:[^]*email:\s+URI:/);
      assert.match(text, /X509v3 Extended Key Usage: \s*\n\s+TLS Web Server Authentication\n/);
      const dir = await mkdtemp(join(tmpdir(), 'pkb-ca-'));
      try {
        const leaf = await ca.issueLeaf('user.mypikpak.net');
        await writeFile(join(dir, 'ca.pem'), ca.certPem);
        await writeFile(
          join(dir, 'leaf.pem'),
          leaf.certChainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
        );
        const verify = (purpose: string) =>
          spawnSync(
            'openssl',
            ['verify', '-purpose', purpose, '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')],
            {
              encoding: 'utf8',
            },
          );
        const server = verify('sslserver');
        assert.equal(server.status, 0, server.stdout + server.stderr);
        for (const purpose of ['sslclient', 'smimesign', 'smimeencrypt', 'codesign'].filter(
          (p) => p !== 'codesign' || hasPurpose('codesign'),
        )) {
          const other = verify(purpose);
          assert.notEqual(other.status, 0, purpose);
          assert.match(other.stdout + other.stderr, /unsuitable certificate purpose/, purpose);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    'Go’s crypto/x509 (what AList verifies with) refuses a leaf with an e-mail or URI name, or for client auth',
    { skip: !hasGo && 'go is not installed', timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pkb-ca-go-'));
      try {
        const good = (await ca.issueLeaf('user.mypikpak.net')).certChainPem.split(
          /(?<=-----END CERTIFICATE-----\n)/,
        )[0]!;
        const email = await signLeaf(ca, keyPem, { dns: 'user.mypikpak.net', email: 'someone@example.com' });
        const uri = await signLeaf(ca, keyPem, { dns: 'user.mypikpak.net', uri: 'https://example.com/x' });
        const evil = await signLeaf(ca, keyPem, { dns: 'accounts.example.com' });
        const results = await goVerify(dir, ca.certPem, { good, email, uri, evil });
        assert.equal(results.good?.server, 'ok');
        assert.match(results.good?.client ?? '', /incompatible key usage/);
        assert.match(
          results.email?.server ?? '',
          /email address "someone@example\.com" is excluded by constraint ""/,
        );
        assert.match(
          results.uri?.server ?? '',
          /URI "https:\/\/example\.com\/x" is excluded by constraint ""/,
        );
        assert.match(results.evil?.server ?? '', /"accounts\.example\.com" is not permitted/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

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
        const evil = await signLeaf(ca, keyPem, { dns: 'accounts.example.com' });
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

  it('replaces a CA made before the serverAuth-only limits, with a warning that names them', async () => {
    const dataDir = join(dir, 'f');
    const secrets = new MemorySecretStore();
    const old = await oldStyleCa();
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, CA_CERT_FILE), old.certPem);
    await secrets.set(CA_KEY_ACCOUNT, CA_KEY_KIND, new SecretValue(old.keyPem));
    const log = captureLog();
    const ca = await LocalCa.loadOrCreate({ dataDir, secrets, log });
    assert.equal(ca.created, true, 'a new CA');
    assert.notEqual(ca.certPem, old.certPem);
    assert.equal(await readFile(join(dataDir, CA_CERT_FILE), 'utf8'), ca.certPem);
    assert.ok(ca.certificate.getExtension(x509.ExtendedKeyUsageExtension));
    assert.match(log.text(), /"level":"?(warn|40)"?/);
    assert.match(log.text(), /no serverAuth-only extended key usage, e-mail and URI names not excluded/);
    assert.match(log.text(), /hosts that trust the old CA must trust the new one/);
    // And the new one is kept from then on.
    assert.equal((await LocalCa.loadOrCreate({ dataDir, secrets })).created, false);
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

/** Signs a leaf for any names with the CA's key, bypassing issueLeaf's own check. */
async function signLeaf(
  ca: LocalCa,
  keyPem: Secret,
  names: { dns: string; email?: string; uri?: string },
): Promise<string> {
  const signingKey = await importKey(keyPem);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01',
      subject: `CN=${names.dns}`,
      issuer: ca.certificate.subject,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + HOUR),
      publicKey: keys.publicKey,
      signingKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension(
          [
            { type: 'dns', value: names.dns },
            ...(names.email ? [{ type: 'email' as const, value: names.email }] : []),
            ...(names.uri ? [{ type: 'url' as const, value: names.uri }] : []),
          ],
          false,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return `${cert.toString('pem')}\n`;
}

function importKey(keyPem: Secret): Promise<CryptoKey> {
  const der = Buffer.from(keyPem.reveal().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

/** A CA as versions before the serverAuth EKU and the e-mail/URI exclusions made it. */
async function oldStyleCa(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const constraints = new NameConstraints({
    permittedSubtrees: new GeneralSubtrees(
      ['mypikpak.com', 'mypikpak.net'].map(
        (dNSName) => new GeneralSubtree({ base: new GeneralName({ dNSName }) }),
      ),
    ),
    excludedSubtrees: new GeneralSubtrees(
      ['0.0.0.0/0', '::/0'].map((iPAddress) => new GeneralSubtree({ base: new GeneralName({ iPAddress }) })),
    ),
  });
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '02',
      name: 'CN=PikPak Token Broker bridge CA (old), O=PikPak Token Broker',
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + 3650 * 24 * HOUR),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(constraints)),
      ],
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`,
  };
}

const GO_VERIFY = `package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
)

func load(path string) *x509.Certificate {
	data, _ := os.ReadFile(path)
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic(err)
	}
	return cert
}

func main() {
	roots := x509.NewCertPool()
	roots.AddCert(load(os.Args[1]))
	out := map[string]map[string]string{}
	for _, name := range os.Args[2:] {
		leaf := load(name + ".pem")
		out[name] = map[string]string{}
		for usage, eku := range map[string]x509.ExtKeyUsage{"server": x509.ExtKeyUsageServerAuth, "client": x509.ExtKeyUsageClientAuth} {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{eku}})
			if err != nil {
				out[name][usage] = err.Error()
			} else {
				out[name][usage] = "ok"
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
`;

/** Verifies each leaf against the CA with Go's crypto/x509, for serverAuth and for clientAuth. */
async function goVerify(
  dir: string,
  caPem: string,
  leaves: Record<string, string>,
): Promise<Record<string, { server: string; client: string }>> {
  await writeFile(join(dir, 'main.go'), GO_VERIFY);
  await writeFile(join(dir, 'ca.pem'), caPem);
  for (const [name, pem] of Object.entries(leaves)) await writeFile(join(dir, `${name}.pem`), pem);
  const run = spawnSync('go', ['run', 'main.go', 'ca.pem', ...Object.keys(leaves)], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GO111MODULE: 'off',
      GOPATH: join(dir, 'gopath'),
      GOCACHE: join(tmpdir(), 'pkb-alist-go-cache'),
      GOFLAGS: '',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
    },
    timeout: 170_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, { server: string; client: string }>;
}
