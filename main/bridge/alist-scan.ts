/**
 * What `alist scan` concludes from an AList's PikPak storages (alist-admin.ts): storages grouped by
 * PikPak account, and every cause of the `invalid_grant` lock-out it can see (shared/PIKPAK.md,
 * "How AList gets it wrong"), each with its fix. Pure: no I/O; tests feed it storages.
 */
import type { PikPakStorage } from './alist-admin.js';

export type Severity = 'error' | 'warning' | 'info';

export type FindingCode =
  /** Two or more storages refresh one account's single-use token, at least one by itself. */
  | 'shared-account'
  /** Several storages of one account, all through the bridge: fine. */
  | 'shared-account-bridged'
  /** refresh_token_method oauth2 outside the bridge: dead after the first rotation. */
  | 'oauth2-method'
  /** oauth2 through the bridge: works only if AList trusts the broker's CA (Go's default client verifies TLS). */
  | 'oauth2-needs-ca'
  /** The storage refreshes the account itself (a real refresh token or password in AList). */
  | 'not-behind-bridge'
  /** AList's status line for the storage shows the lock-out right now. */
  | 'locked-out'
  /** The real PikPak password sits in AList's database. */
  | 'real-password-stored'
  /** The broker's admin credential sits in AList's database (and the broker refuses it there). */
  | 'admin-credential'
  /** Set up for the bridge, but the broker has no such account. */
  | 'no-broker-account'
  /** Set up for the bridge with another device id than the broker's. */
  | 'device-id-mismatch'
  /** Share-link storages that hold no account: nothing to lose. */
  | 'share-without-account';

export interface Finding {
  readonly severity: Severity;
  readonly code: FindingCode;
  /** Mount paths of the storages concerned. */
  readonly storages: readonly string[];
  readonly message: string;
  readonly fix: string;
}

/** The broker's view of an account (settings.json; no secrets). */
export interface BrokerAccountInfo {
  readonly name: string;
  readonly username: string;
  readonly deviceId: string;
}

export interface AccountGroup {
  /** PikPak username, or a description when the storages name none. */
  readonly username: string;
  /** The broker account with that username, when the broker's settings were readable and have one. */
  readonly brokerAccount: string | undefined;
  readonly storages: readonly PikPakStorage[];
  readonly findings: readonly Finding[];
}

export interface ScanReport {
  readonly alistUrl: string;
  readonly totalStorages: number;
  readonly groups: readonly AccountGroup[];
  /** Whether the broker's accounts were known (device id and account checks need them). */
  readonly brokerKnown: boolean;
  readonly counts: Readonly<Record<Severity, number>>;
}

export interface ScanInput {
  readonly alistUrl: string;
  readonly totalStorages: number;
  readonly storages: readonly PikPakStorage[];
  /** undefined when the broker's settings could not be read. */
  readonly brokerAccounts: readonly BrokerAccountInfo[] | undefined;
  /** The bridge address to name in fixes. */
  readonly bridgeAddress: string;
}

/** The group of share-link storages that hold no account. */
export const SHARE_LINKS = '(share links, no account)';

const LOCKED_OUT =
  /invalid_grant|4126|refreshed by other process|refresh_token invalid|re-provide refresh_token|invalid refresh token/i;

export function isBehindBridge(storage: PikPakStorage): boolean {
  return (
    storage.refreshToken === 'client-secret' ||
    (storage.refreshToken === 'empty' && storage.password === 'client-secret')
  );
}

/** Whether the storage holds a PikPak account at all (PikPakShare of recent AList versions does not). */
function holdsAccount(storage: PikPakStorage): boolean {
  return (
    storage.driver === 'PikPak' ||
    storage.username !== '' ||
    storage.refreshToken !== 'empty' ||
    storage.password !== 'empty'
  );
}

export function analyseStorages(input: ScanInput): ScanReport {
  const brokerByUser = new Map((input.brokerAccounts ?? []).map((a) => [a.username.toLowerCase(), a]));
  const brokerByName = new Map((input.brokerAccounts ?? []).map((a) => [a.name, a]));
  const byAccount = new Map<string, PikPakStorage[]>();
  const shares: PikPakStorage[] = [];
  for (const storage of input.storages) {
    if (!holdsAccount(storage)) {
      shares.push(storage);
      continue;
    }
    const named = storage.brokerAccount ? brokerByName.get(storage.brokerAccount) : undefined;
    const key = (storage.username || named?.username || `(no username: ${storage.mountPath})`).toLowerCase();
    byAccount.set(key, [...(byAccount.get(key) ?? []), storage]);
  }

  const groups: AccountGroup[] = [];
  for (const [key, storages] of byAccount) {
    const broker =
      brokerByUser.get(key) ??
      storages.map((s) => (s.brokerAccount ? brokerByName.get(s.brokerAccount) : undefined)).find(Boolean);
    const username = storages.find((s) => s.username)?.username ?? key;
    groups.push({
      username,
      brokerAccount: broker?.name,
      storages,
      findings: accountFindings(username, storages, broker, input),
    });
  }
  if (shares.length > 0)
    groups.push({
      username: SHARE_LINKS,
      brokerAccount: undefined,
      storages: shares,
      findings: [
        {
          severity: 'info',
          code: 'share-without-account',
          storages: shares.map((s) => s.mountPath),
          message:
            'PikPakShare storages of this AList version open share links without signing in: no refresh token to lose.',
          fix: 'nothing to do',
        },
      ],
    });
  const counts = { error: 0, warning: 0, info: 0 };
  for (const group of groups) for (const finding of group.findings) counts[finding.severity] += 1;
  return {
    alistUrl: input.alistUrl,
    totalStorages: input.totalStorages,
    groups,
    brokerKnown: input.brokerAccounts !== undefined,
    counts,
  };
}

function accountFindings(
  username: string,
  storages: readonly PikPakStorage[],
  broker: BrokerAccountInfo | undefined,
  input: ScanInput,
): Finding[] {
  const findings: Finding[] = [];
  const account = broker?.name ?? 'NAME';
  const login = broker
    ? ''
    : `sign the account into the broker (pikpak-token-broker login --account ${account} --username ${username}), then `;
  const setup = `${login}set the storage as \`pikpak-token-broker alist setup --account ${account}\` prints and run AList with HTTPS_PROXY=http://alist:SECRET@${input.bridgeAddress} (SECRET: the client secret)`;
  const active = storages.filter((s) => !s.disabled);
  const direct = active.filter((s) => !isBehindBridge(s));
  const paths = (list: readonly PikPakStorage[]) => list.map((s) => s.mountPath);

  for (const s of storages.filter((x) => LOCKED_OUT.test(x.status)))
    findings.push({
      severity: 'error',
      code: 'locked-out',
      storages: [s.mountPath],
      message: `AList reports the lock-out on this storage now: "${s.status.slice(0, 160)}"`,
      fix: `fix the causes below, then save the storage again in AList (Storages → Edit → Save) so it starts over`,
    });

  if (active.length >= 2 && direct.length >= 1)
    findings.push({
      severity: 'error',
      code: 'shared-account',
      storages: paths(active),
      message:
        `${active.length} storages hold PikPak account ${username} and ${direct.length === active.length ? 'each refreshes' : `${direct.length} of them refresh${direct.length === 1 ? 'es' : ''}`} ` +
        'its single-use refresh token by itself: every rotation by one kills the copy of the others (invalid_grant).',
      fix: `put every one of them behind the bridge, so that they share the broker's token: ${setup}; or keep one storage and delete the others`,
    });
  else if (active.length >= 2)
    findings.push({
      severity: 'info',
      code: 'shared-account-bridged',
      storages: paths(active),
      message: `${active.length} storages of ${username} all get their tokens from the broker through the bridge: they cannot lock each other out.`,
      fix: 'nothing to do',
    });

  for (const s of active) {
    const bridged = isBehindBridge(s);
    if (s.refreshTokenMethod === 'oauth2' && !bridged)
      findings.push({
        severity: 'error',
        code: 'oauth2-method',
        storages: [s.mountPath],
        message:
          'refresh_token_method is oauth2: AList builds its token source once around the refresh token the storage started with and keeps re-using it, so every refresh after the first rotation is refused (invalid_grant).',
        fix: `set refresh_token_method to http and ${setup}`,
      });
    else if (s.refreshTokenMethod === 'oauth2')
      findings.push({
        severity: 'warning',
        code: 'oauth2-needs-ca',
        storages: [s.mountPath],
        message:
          "refresh_token_method is oauth2: through the bridge it cannot lock the account out, but AList's oauth2 refresh uses Go's default HTTP client, which verifies TLS even with tls_insecure_skip_verify on: unless AList trusts the broker's CA, its refreshes fail.",
        fix: 'set refresh_token_method to http (or give AList SSL_CERT_FILE from `pikpak-token-broker bridge ca --bundle`)',
      });
    if (!bridged && (s.refreshToken !== 'empty' || s.password !== 'empty'))
      findings.push({
        severity: direct.length === active.length && active.length === 1 ? 'warning' : 'error',
        code: 'not-behind-bridge',
        storages: [s.mountPath],
        message:
          s.refreshToken === 'pikpak'
            ? 'holds a real PikPak refresh token and refreshes it itself: requests that find the access token expired at the same moment race each other, and any second holder (another storage or AList, a restored database) locks it out.'
            : 'signs in with the real password and refreshes by itself: any second holder of the account locks it out.',
        fix: setup,
      });
    if (s.password === 'pikpak')
      findings.push({
        severity: 'warning',
        code: 'real-password-stored',
        storages: [s.mountPath],
        message: "the real PikPak password is stored in AList's database.",
        fix: 'replace it with the client secret `alist setup` prints (the bridge answers sign-ins with it)',
      });
    if (s.refreshToken === 'admin-credential' || s.password === 'admin-credential')
      findings.push({
        severity: 'error',
        code: 'admin-credential',
        storages: [s.mountPath],
        message:
          "the broker's admin credential is stored in AList: the broker refuses it for token calls, and it must not sit in another program's database.",
        fix: `create a client for AList (pikpak-token-broker clients add alist --account ${account}) and use its secret instead`,
      });
    if (bridged && input.brokerAccounts !== undefined && !broker)
      findings.push({
        severity: 'error',
        code: 'no-broker-account',
        storages: [s.mountPath],
        message: `set up for the bridge, but the broker has no account for ${username}: the bridge answers its token calls with invalid_grant.`,
        fix: `pikpak-token-broker login --account NAME --username ${username}`,
      });
    if (bridged && broker && s.deviceId && s.deviceId !== broker.deviceId)
      findings.push({
        severity: 'warning',
        code: 'device-id-mismatch',
        storages: [s.mountPath],
        message: `device_id ${s.deviceId} is not the broker's device id for this account: PikPak issues captcha tokens per device, so AList's drive calls and the broker's tokens should share one.`,
        fix: `set device_id to ${broker.deviceId}`,
      });
  }
  return findings;
}

const LABEL: Readonly<Record<Severity, string>> = { error: 'ERROR', warning: 'WARN ', info: 'info ' };

/** The report for people. */
export function renderScan(report: ScanReport): string {
  const lines: string[] = [];
  const pikpak = report.groups.reduce((n, g) => n + g.storages.length, 0);
  lines.push(`AList ${report.alistUrl}: ${report.totalStorages} storage(s), ${pikpak} PikPak/PikPakShare.`);
  if (!report.brokerKnown)
    lines.push("(The broker's settings could not be read: account and device id checks skipped.)");
  if (pikpak === 0) {
    lines.push('', 'No PikPak storage: nothing can be locked out.');
    return `${lines.join('\n')}\n`;
  }
  for (const group of report.groups) {
    lines.push(
      '',
      group.username === SHARE_LINKS
        ? 'Share links (no account):'
        : `Account ${group.username}${group.brokerAccount ? ` (broker account "${group.brokerAccount}")` : ''}:`,
    );
    for (const s of group.storages)
      lines.push(
        `  ${s.mountPath}  [${s.driver}${s.disabled ? ', disabled' : ''}]  method ${s.refreshTokenMethod || '-'}  ` +
          `${isBehindBridge(s) ? 'through the bridge' : s.refreshToken === 'empty' && s.password === 'empty' ? 'no credentials' : 'refreshes by itself'}  status: ${s.status || '-'}`,
      );
    for (const f of group.findings) {
      lines.push(`  ${LABEL[f.severity]} ${f.message}`);
      if (f.storages.length && group.storages.length > 1)
        lines.push(`        storages: ${f.storages.join(', ')}`);
      if (f.fix !== 'nothing to do') lines.push(`        fix: ${f.fix}`);
    }
  }
  const { error, warning } = report.counts;
  lines.push(
    '',
    error + warning === 0
      ? 'No cause of the invalid_grant lock-out found.'
      : `${error} error(s), ${warning} warning(s): fix the errors first; each one alone can lock the account out.`,
  );
  return `${lines.join('\n')}\n`;
}
