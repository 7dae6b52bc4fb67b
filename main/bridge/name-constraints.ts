/**
 * The NameConstraints extension (RFC 5280 §4.2.1.10) of the bridge's CA: it may only vouch for
 * PikPak's domains. @peculiar/x509 has no class for this extension, so it is built from
 * @peculiar/asn1-x509's ASN.1 classes (the library @peculiar/x509 itself is made of) and wrapped in
 * a generic x509.Extension; `readNameConstraints` parses it back for checks and tests.
 *
 * Permitted: dNSName subtrees for each domain (a dNSName constraint "mypikpak.com" covers the name
 * itself and every name below it). Excluded: every IPv4 and IPv6 address, every e-mail address
 * (rfc822Name) and every URI, so that even a certificate for an IP address, a mailbox or a URI signed
 * by this CA is invalid — without that, names of a type the constraint does not mention would be
 * unconstrained. The e-mail and URI exclusions are empty names: RFC 5280 matches a constraint on the
 * host part, and an empty one matches every host (Go's crypto/x509, which AList verifies with, reads
 * it so). Verifiers that do not are still held by the extended key usage: serverAuth only.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  NameConstraints,
  id_ce_nameConstraints,
} from '@peculiar/asn1-x509';
import { x509 } from './x509.js';

export const NAME_CONSTRAINTS_OID = id_ce_nameConstraints;
const ALL_IP_ADDRESSES = ['0.0.0.0/0', '::/0'] as const;
/** An empty host constraint: every e-mail address, every URI. */
const EVERY_HOST = '';

export interface NameConstraintsView {
  readonly critical: boolean;
  readonly permittedDns: readonly string[];
  readonly excludedIps: readonly string[];
  /** Excluded rfc822Name subtrees (`""`: every address). */
  readonly excludedEmail: readonly string[];
  /** Excluded URI subtrees (`""`: every URI). */
  readonly excludedUri: readonly string[];
  /** Any other kind of subtree (there should be none). */
  readonly other: number;
}

/** A critical NameConstraints extension permitting `domains` (DNS), excluding every IP address, e-mail and URI. */
export function nameConstraintsExtension(domains: readonly string[]): x509.Extension {
  if (domains.length === 0) throw new TypeError('name constraints need at least one domain');
  const value = new NameConstraints({
    permittedSubtrees: new GeneralSubtrees(
      domains.map((dNSName) => new GeneralSubtree({ base: new GeneralName({ dNSName }) })),
    ),
    excludedSubtrees: new GeneralSubtrees([
      ...ALL_IP_ADDRESSES.map((iPAddress) => new GeneralSubtree({ base: new GeneralName({ iPAddress }) })),
      new GeneralSubtree({ base: new GeneralName({ rfc822Name: EVERY_HOST }) }),
      new GeneralSubtree({ base: new GeneralName({ uniformResourceIdentifier: EVERY_HOST }) }),
    ]),
  });
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, AsnConvert.serialize(value));
}

/** The certificate's name constraints, or undefined when it has none. */
export function readNameConstraints(cert: x509.X509Certificate): NameConstraintsView | undefined {
  const extension = cert.getExtension(NAME_CONSTRAINTS_OID);
  if (!extension) return undefined;
  const parsed = AsnConvert.parse(extension.value, NameConstraints);
  const permittedDns: string[] = [];
  const excludedIps: string[] = [];
  const excludedEmail: string[] = [];
  const excludedUri: string[] = [];
  let other = 0;
  for (const subtree of parsed.permittedSubtrees ?? []) {
    if (subtree.base.dNSName !== undefined) permittedDns.push(subtree.base.dNSName);
    else other += 1;
  }
  for (const subtree of parsed.excludedSubtrees ?? []) {
    if (subtree.base.iPAddress !== undefined) excludedIps.push(subtree.base.iPAddress);
    else if (subtree.base.rfc822Name !== undefined) excludedEmail.push(subtree.base.rfc822Name);
    else if (subtree.base.uniformResourceIdentifier !== undefined)
      excludedUri.push(subtree.base.uniformResourceIdentifier);
    else other += 1;
  }
  return { critical: extension.critical, permittedDns, excludedIps, excludedEmail, excludedUri, other };
}

/** Whether `host` falls under one of the permitted DNS subtrees (the same rule verifiers apply). */
export function isPermittedHost(host: string, domains: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return domains.some((domain) => name === domain || name.endsWith(`.${domain}`));
}
