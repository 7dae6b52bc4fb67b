/**
 * Secret canaries for the reliability suites: unique values (refresh tokens the emulator issued,
 * passwords, client secrets) and a scanner that looks for them in text and in every file under
 * some folders. Findings name the canary's kind and fingerprint, never its value.
 *
 * The emulator does not list the refresh tokens it issued (its stats carry fingerprints only), so
 * `startRecordingEmulator` hands it a `random` that remembers every draw: an issued refresh token
 * is `os.` + base64url(draw), and the lineage's fingerprints say which draws became refresh tokens.
 * Every lineage entry must be matched, so the list of canaries is complete.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/server.js';
import { fingerprint } from '../emulator/tokens.js';
import { REPORT_DIR, writeReport } from './report.js';

export interface RecordingEmulator {
  readonly emulator: Emulator;
  /** Every refresh token the emulator has issued so far, for every account. */
  refreshTokens(): string[];
}

export async function startRecordingEmulator(options: EmulatorOptions): Promise<RecordingEmulator> {
  const draws: Buffer[] = [];
  const emulator = await startEmulator({
    ...options,
    random: (bytes) => {
      const value = randomBytes(bytes);
      draws.push(value);
      return value;
    },
  });
  const known = new Map<string, string>();
  let seen = 0;
  return {
    emulator,
    refreshTokens() {
      for (; seen < draws.length; seen++) {
        const token = `os.${draws[seen]!.toString('base64url')}`;
        known.set(fingerprint(token), token);
      }
      const tokens: string[] = [];
      for (const [user, stats] of Object.entries(emulator.stats().accounts)) {
        for (const entry of stats.refreshTokenLineage) {
          const token = known.get(entry.id);
          if (!token) throw new Error(`refresh token ${entry.id} of ${user} was not recorded`);
          tokens.push(token);
        }
      }
      return tokens;
    },
  };
}

/** A value that must never show up where it is looked for. */
export interface Canary {
  readonly kind: string;
  readonly value: string;
}

/** A unique, recognisable value: `<label>-<uuid>`. */
export function canaryValue(label: string): string {
  return `${label}-${randomUUID()}`;
}

export interface Finding {
  readonly where: string;
  readonly kind: string;
  /** First 8 hex digits of the value's SHA-256 (what the emulator's lineage calls the token). */
  readonly fingerprint: string;
}

/** The canaries found in `text`, as findings located at `where`. */
export function findCanaries(text: string, canaries: readonly Canary[], where: string): Finding[] {
  const found: Finding[] = [];
  for (const canary of canaries)
    if (canary.value && text.includes(canary.value))
      found.push({ where, kind: canary.kind, fingerprint: fingerprint(canary.value) });
  return found;
}

export interface FileScan {
  readonly files: number;
  readonly bytes: number;
  readonly findings: Finding[];
}

export interface ScanOptions {
  /** Only files modified at or after this time (ms) — for shared folders such as /tmp. */
  readonly modifiedSince?: number;
  /** Files larger than this are skipped (default 8 MiB). */
  readonly maxBytes?: number;
}

/**
 * Every regular file under `roots` (recursively; symbolic links are not followed), read as bytes
 * and searched as latin1 so that binary files are searched too. Files that vanish or cannot be
 * read (other users' or processes' files in /tmp) are skipped.
 */
export async function scanFiles(
  roots: readonly string[],
  canaries: readonly Canary[],
  options: ScanOptions = {},
): Promise<FileScan> {
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  const needles = canaries.map((c) => ({ canary: c, bytes: Buffer.from(c.value, 'utf8') }));
  let files = 0;
  let bytes = 0;
  const findings: Finding[] = [];
  const visited = new Set<string>();
  const visit = async (path: string): Promise<void> => {
    if (visited.has(path)) return;
    visited.add(path);
    let info;
    try {
      info = await lstat(path);
    } catch {
      return;
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = await readdir(path);
      } catch {
        return;
      }
      for (const entry of entries) await visit(join(path, entry));
      return;
    }
    if (!info.isFile() || info.size > maxBytes) return;
    if (options.modifiedSince !== undefined && info.mtimeMs < options.modifiedSince) return;
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch {
      return;
    }
    files += 1;
    bytes += content.length;
    for (const { canary, bytes: needle } of needles)
      if (needle.length > 0 && content.includes(needle))
        findings.push({ where: path, kind: canary.kind, fingerprint: fingerprint(canary.value) });
  };
  for (const root of roots) await visit(root);
  return { files, bytes, findings };
}

/** Entries of the temp folder now, to tell later which ones a test created. */
export async function tmpEntries(): Promise<Set<string>> {
  return new Set(await readdir(tmpdir()).catch(() => []));
}

/** Paths in the temp folder that were not in `before`. */
export async function newTmpPaths(before: ReadonlySet<string>): Promise<string[]> {
  const now = await readdir(tmpdir()).catch(() => []);
  return now.filter((entry) => !before.has(entry)).map((entry) => join(tmpdir(), entry));
}

/** "2 finding(s): password in /x/settings.json (ab12cd34); …" — for assertion messages. */
export function describeFindings(findings: readonly Finding[]): string {
  return `${findings.length} finding(s): ${findings
    .slice(0, 20)
    .map((f) => `${f.kind} in ${f.where} (${f.fingerprint})`)
    .join('; ')}`;
}

/** Canaries whose kind starts with this are expected to be found: they prove the search works. */
export const CONTROL = 'control';

/**
 * A positive control for a file scan: a file holding a fresh canary in `dir`, which the scan of
 * `dir` must find (once) — or the scan proves nothing.
 */
export async function plantControl(dir: string): Promise<Canary> {
  const value = canaryValue('planted-control');
  await writeFile(join(dir, 'planted-control.txt'), `${value}\n`, { mode: 0o600 });
  return { kind: `${CONTROL}: planted file`, value };
}

/** Findings of controls (expected) and of real canaries (must be none), apart. */
export function splitControls(findings: readonly Finding[]): { controls: Finding[]; leaks: Finding[] } {
  return {
    controls: findings.filter((f) => f.kind.startsWith(CONTROL)),
    leaks: findings.filter((f) => !f.kind.startsWith(CONTROL)),
  };
}

/**
 * The verdict of a scan: the controls prove it searched (the username where `usernameWhere`
 * says, the planted file exactly once), and no real canary was found anywhere.
 */
export function assertCleanScan(
  findings: readonly Finding[],
  controls: readonly Finding[],
  usernameWhere: (where: string) => boolean,
  usernamePlace: string,
): void {
  assert.ok(
    controls.some((f) => f.kind.endsWith('username') && usernameWhere(f.where)),
    `the username (a control) is found in ${usernamePlace}`,
  );
  assert.equal(
    controls.filter((f) => f.kind.endsWith('planted file')).length,
    1,
    'the planted file is found',
  );
  assert.deepEqual(findings, [], describeFindings(findings));
}

export interface CanaryReportSection {
  /** Distinct canaries looked for. */
  readonly canaries: number;
  /** Places searched: outputs, answers, payloads, files. */
  readonly places: number;
  /** canaries × places. */
  readonly checks: number;
  /** Canaries found where they must not be (the suite fails when this is not 0). */
  readonly findings: number;
  readonly [detail: string]: unknown;
}

/**
 * The canary suites share `test-results/reliability/canaries.json`: each file writes its own
 * section and the totals are summed over the sections present.
 */
export async function writeCanaryReport(section: string, data: CanaryReportSection): Promise<void> {
  const file = join(REPORT_DIR, 'canaries.json');
  let sections: Record<string, CanaryReportSection> = {};
  try {
    sections = (JSON.parse(await readFile(file, 'utf8')) as { sections?: typeof sections }).sections ?? {};
  } catch {
    // first section, or an unreadable file: start afresh
  }
  sections[section] = data;
  const all = Object.values(sections);
  const sum = (key: 'canaries' | 'places' | 'checks' | 'findings') => all.reduce((n, s) => n + s[key], 0);
  await writeReport('canaries', {
    totals: {
      canaries: sum('canaries'),
      places: sum('places'),
      checks: sum('checks'),
      findings: sum('findings'),
    },
    sections,
  });
}
