/**
 * The bridge's own certificate authority. It exists so that AList's CONNECT to PikPak's auth hosts
 * can be answered by the broker; it can vouch for nothing else:
 * - ECDSA P-256; BasicConstraints CA (path length 0: it signs leaves only), KeyUsage keyCertSign
 *   and cRLSign, both critical;
 * - NameConstraints (critical): only `mypikpak.com`, `mypikpak.net` and names below them; every IP
 *   address, e-mail address and URI excluded (name-constraints.ts). A verifier rejects anything
 *   else it might sign;
 * - ExtendedKeyUsage serverAuth, on the CA and on its leaves: what it signs is good for a TLS
 *   server and nothing else (not e-mail, code signing or client authentication);
 * - the private key (PKCS#8 PEM) is a Secret in the OS keychain, through the SecretStore port, and
 *   never touches the disk; the certificate (public) is `bridge-ca.pem` in the data folder, for
 *   `pikpak-token-broker bridge ca` and for hosts that verify TLS.
 *
 * Leaf certificates (one per host name, ~24 h) are issued by `issueLeaf`; leaf-cache.ts keeps them.
 * Certificates use the real clock unless `now` is injected: TLS peers check them against theirs.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { silentLogger, type Logger, type SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { ensurePrivateDir } from '../storage/paths.js';
import { isPermittedHost, nameConstraintsExtension, readNameConstraints } from './name-constraints.js';
import { crypto, x509 } from './x509.js';

/** The CA certificate's file in the data folder. */
export const CA_CERT_FILE = 'bridge-ca.pem';
/** Keychain entry of the CA key: an "account" no real account can be named (they start with [A-Za-z0-9]). */
export const CA_KEY_ACCOUNT = '_bridge';
export const CA_KEY_KIND = 'bridge-ca-key';
/** The only domains the CA may sign for. */
export const CA_PERMITTED_DOMAINS: readonly string[] = ['mypikpak.com', 'mypikpak.net'];

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
/** A CA this close to its end is replaced at start-up (hosts that trust it must then trust the new one). */
const CA_RENEW_BEFORE_MS = 30 * DAY_MS;
/** Leaves start this far in the past, for peers whose clocks run a little behind. */
const BACKDATE_MS = 10 * 60 * 1000;

export interface LocalCaOptions {
  readonly dataDir: string;
  readonly secrets: SecretStore;
  readonly log?: Logger;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
  /** Validity of a new CA; default 10 years. */
  readonly validityDays?: number;
}

export interface LeafCertificate {
  readonly host: string;
  /** The leaf followed by the CA certificate: what a TLS server presents. */
  readonly certChainPem: string;
  /** PKCS#8 PEM of the leaf's private key (lives in memory only). */
  readonly keyPem: Secret;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export class LocalCa {
  readonly certPem: string;
  readonly certificate: x509.X509Certificate;
  /** Whether `loadOrCreate` made a new CA (a host that verifies TLS must trust the new certificate). */
  readonly created: boolean;
  readonly #signingKey: CryptoKey;
  readonly #now: () => number;

  private constructor(
    certificate: x509.X509Certificate,
    signingKey: CryptoKey,
    created: boolean,
    now: () => number,
  ) {
    this.certificate = certificate;
    this.certPem = `${certificate.toString('pem')}\n`;
    this.#signingKey = signingKey;
    this.created = created;
    this.#now = now;
  }

  get notAfter(): Date {
    return this.certificate.notAfter;
  }

  /** SHA-256 fingerprint of the CA certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  async fingerprint(): Promise<string> {
    const digest = Buffer.from(await this.certificate.getThumbprint('SHA-256', crypto));
    return [...digest].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  }

  /**
   * The CA of this data folder: the certificate from `bridge-ca.pem` with its key from the keychain.
   * A new CA is made (key to the keychain first, then the certificate file) when either is missing,
   * when they do not belong together, or when the certificate is about to expire. Throws the
   * SecretStore's KeychainUnavailableError when the keychain cannot be used: the key never falls
   * back to a file.
   */
  static async loadOrCreate(options: LocalCaOptions): Promise<LocalCa> {
    const log = options.log ?? silentLogger;
    const now = options.now ?? Date.now;
    const path = join(options.dataDir, CA_CERT_FILE);
    const [pem, key] = await Promise.all([
      readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      }),
      options.secrets.get(CA_KEY_ACCOUNT, CA_KEY_KIND),
    ]);
    if (pem !== undefined && key !== undefined) {
      const problem = await LocalCa.#check(pem, key, now());
      if (problem === undefined) {
        const certificate = new x509.X509Certificate(pem);
        return new LocalCa(certificate, await importSigningKey(key), false, now);
      }
      log.warn({ path, problem }, `replacing the bridge's CA: ${problem}`);
    } else if (pem !== undefined || key !== undefined) {
      log.warn(
        { path, certificate: pem !== undefined, keyInKeychain: key !== undefined },
        "replacing the bridge's CA: its certificate or its key is missing",
      );
    }
    const made = await LocalCa.generate({ now, validityDays: options.validityDays });
    await options.secrets.set(CA_KEY_ACCOUNT, CA_KEY_KIND, made.keyPem);
    await ensurePrivateDir(options.dataDir);
    await writeFileAtomic(path, made.ca.certPem, { mode: 0o644, fsync: true });
    log.info(
      { path, notAfter: made.ca.notAfter.toISOString() },
      "created the bridge's local CA (key in the keychain; hosts that verify TLS must trust the new certificate)",
    );
    return made.ca;
  }

  /** A new CA in memory, and its key as a Secret (PKCS#8 PEM) for the caller to store. */
  static async generate(
    options: { now?: () => number; validityDays?: number | undefined } = {},
  ): Promise<{ ca: LocalCa; keyPem: Secret }> {
    const now = options.now ?? Date.now;
    const start = now();
    const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=PikPak Token Broker bridge CA (${safeHostname()}), O=PikPak Token Broker`,
        notBefore: new Date(start - BACKDATE_MS),
        notAfter: new Date(start + (options.validityDays ?? 3650) * DAY_MS),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          nameConstraintsExtension(CA_PERMITTED_DOMAINS),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const keyPem = new Secret(pkcs8Pem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)));
    return { ca: new LocalCa(certificate, keys.privateKey, true, now), keyPem };
  }

  /** Whether the CA may sign for `host` (PikPak's domains only). */
  static covers(host: string): boolean {
    return isPermittedHost(host, CA_PERMITTED_DOMAINS);
  }

  /** A server certificate for `host` (one DNS name), valid from a little before now for `validityMs`. */
  async issueLeaf(host: string, validityMs = DAY_MS): Promise<LeafCertificate> {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (!LocalCa.covers(name) || !/^[a-z0-9.-]{1,253}$/.test(name))
      throw new TypeError(
        `the bridge's CA signs only for ${CA_PERMITTED_DOMAINS.join(' and ')}, not "${host}"`,
      );
    const start = this.#now();
    const notBefore = new Date(start - BACKDATE_MS);
    const notAfter = new Date(Math.min(start + validityMs, this.certificate.notAfter.getTime()));
    const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const leaf = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: `CN=${name}`,
        issuer: this.certificate.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: this.#signingKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }], false),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          await x509.AuthorityKeyIdentifierExtension.create(this.certificate.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    return {
      host: name,
      certChainPem: `${leaf.toString('pem')}\n${this.certPem}`,
      keyPem: new Secret(pkcs8Pem(await crypto.subtle.exportKey('pkcs8', keys.privateKey))),
      notBefore,
      notAfter,
    };
  }

  /** Why a stored certificate and key cannot be used, or undefined when they can. */
  static async #check(pem: string, key: Secret, now: number): Promise<string | undefined> {
    let certificate: x509.X509Certificate;
    try {
      certificate = new x509.X509Certificate(pem);
    } catch {
      return `${CA_CERT_FILE} is not a certificate`;
    }
    if (certificate.notAfter.getTime() - CA_RENEW_BEFORE_MS < now)
      return `it expires ${certificate.notAfter.toISOString()}`;
    const limits = missingLimits(certificate);
    if (limits !== undefined)
      return `it was made before the CA was limited to TLS server certificates (${limits}); hosts that trust the old CA must trust the new one`;
    try {
      const fromKey = createPublicKey(createPrivateKey(key.reveal())).export({ type: 'spki', format: 'der' });
      if (!Buffer.from(certificate.publicKey.rawData).equals(fromKey))
        return 'the key in the keychain does not belong to the certificate';
    } catch {
      return 'the key in the keychain is not a private key';
    }
    return undefined;
  }
}

/** What a CA made by an older version lacks: serverAuth-only EKU, the e-mail and URI exclusions. */
function missingLimits(certificate: x509.X509Certificate): string | undefined {
  const missing: string[] = [];
  const eku = certificate.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku || eku.usages.length !== 1 || eku.usages[0] !== x509.ExtendedKeyUsage.serverAuth)
    missing.push('no serverAuth-only extended key usage');
  const constraints = readNameConstraints(certificate);
  if (!constraints?.excludedEmail.includes('') || !constraints.excludedUri.includes(''))
    missing.push('e-mail and URI names not excluded');
  return missing.length > 0 ? missing.join(', ') : undefined;
}

function importSigningKey(pem: Secret): Promise<CryptoKey> {
  const der = createPrivateKey(pem.reveal()).export({ type: 'pkcs8', format: 'der' });
  return crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

function pkcs8Pem(der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${base64.replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

/** A positive 16-byte serial number (hex). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** The host name for the CA's name (helps a user tell several machines' CAs apart); DN-safe. */
function safeHostname(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 48) || 'localhost'
  );
}
