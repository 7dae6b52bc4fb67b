/**
 * A throw-away certificate authority and a server certificate for the emulator's HTTPS listener,
 * valid for PikPak's host names, localhost and 127.0.0.1. ECDSA P-256 through Node's WebCrypto.
 * Clients trust `caCertPem` (node:https `ca`, NODE_EXTRA_CA_CERTS, or a browser's trust store).
 */
import { webcrypto } from 'node:crypto';

import type { JsonGeneralName } from '@peculiar/x509';

import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata API
import { AUTH_HOSTS, DRIVE_HOSTS } from '../../main/pikpak/protocol.js';

export const EMULATOR_CERT_DNS_NAMES: readonly string[] = [...AUTH_HOSTS, ...DRIVE_HOSTS, 'localhost'];
export const EMULATOR_CERT_IPS: readonly string[] = ['127.0.0.1'];

export interface EmulatorCertificate {
  /** The CA certificate clients must trust. */
  caCertPem: string;
  /** Server certificate followed by the CA (the chain node:https serves). */
  certChainPem: string;
  /** PKCS#8 private key of the server certificate. */
  keyPem: string;
}

const crypto = webcrypto as unknown as Crypto;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

function keyToPem(der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${base64.replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  // Positive (first bit clear) 16-byte serial.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/**
 * Certificates use the real clock (TLS peers check them against theirs), never the emulator's
 * injectable one. Validity: one hour in the past to 30 days ahead.
 */
export async function generateEmulatorCertificate(
  options: { dnsNames?: readonly string[]; ips?: readonly string[] } = {},
): Promise<EmulatorCertificate> {
  // Loaded lazily, after the Reflect polyfill above is in place (tsyringe checks on load).
  const x509 = await import('@peculiar/x509');
  const now = Date.now();
  const notBefore = new Date(now - 3600 * 1000);
  const notAfter = new Date(now + 30 * DAY_MS);

  const caKeys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: 'CN=PikPak Emulator Test CA, O=PikPak Token Broker (tests only)',
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const leafKeys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const names: JsonGeneralName[] = [
    ...(options.dnsNames ?? EMULATOR_CERT_DNS_NAMES).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? EMULATOR_CERT_IPS).map((value) => ({ type: 'ip' as const, value })),
  ];
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: 'CN=PikPak Emulator',
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(names, false),
        await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const caCertPem = ca.toString('pem') + '\n';
  return {
    caCertPem,
    certChainPem: leaf.toString('pem') + '\n' + caCertPem,
    keyPem: keyToPem(await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
  };
}
