/**
 * `secret-store migrate`: moves every secret from one store to the other without ever holding a
 * secret in only one place that could be lost. The order:
 *
 *   record {from, to, phase: copy} → copy each secret → read each back and compare →
 *   record {phase: delete} → delete each from the source → remove the record
 *
 * Killed anywhere, a secret is in the source, or in the target already verified; running the same
 * migration again repeats the idempotent steps and completes. While the record exists the broker
 * refuses to start (see secret-store-check.ts), so neither store changes in between.
 *
 * What is moved: per account in the settings file its refresh token and password, the bridge CA
 * key, and (from the file store) anything else the file holds.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import type { SecretKind, SecretStore } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { writeFileDurably } from '../storage/durable-write.js';
import type { SecretStoreKind } from '../cli/common-options.js';

export const MIGRATION_FILE = 'secret-store-migration.json';

const recordSchema = v.strictObject({
  version: v.literal(1),
  from: v.picklist(['keychain', 'file']),
  to: v.picklist(['keychain', 'file']),
  phase: v.picklist(['copy', 'delete']),
  startedAt: v.number(),
});
export type MigrationRecord = v.InferOutput<typeof recordSchema>;

export interface SecretRef {
  readonly account: string;
  readonly kind: SecretKind;
}

/** Reached steps, for the crash tests (which kill the process at each one). */
export type MigrationStep =
  | { type: 'recorded'; phase: 'copy' | 'delete' }
  | { type: 'copied'; ref: SecretRef }
  | { type: 'verified' }
  | { type: 'deleted'; ref: SecretRef }
  | { type: 'done' };

export interface MigrateInput {
  readonly dataDir: string;
  readonly from: SecretStoreKind;
  readonly to: SecretStoreKind;
  readonly source: SecretStore;
  readonly target: SecretStore;
  /** Reads the target back for verification; a fresh instance, so a file is decrypted from disk again. Default: `target`. */
  readonly verifier?: SecretStore;
  /** The accounts of the settings file. */
  readonly accounts: readonly string[];
  readonly now?: () => number;
  readonly onStep?: (step: MigrationStep) => void | Promise<void>;
}

export interface MigrateResult {
  /** Secrets found and moved (names only). */
  readonly moved: readonly SecretRef[];
  /** Whether an earlier, interrupted run was completed. */
  readonly resumed: boolean;
}

export async function readMigrationRecord(dataDir: string): Promise<MigrationRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, MIGRATION_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = v.safeParse(recordSchema, JSON.parse(text));
  if (!parsed.success)
    throw new Error(`${join(dataDir, MIGRATION_FILE)} is not a migration record; move it away`);
  return parsed.output;
}

/** Raised for an unfinished migration in the other direction (finishing it first keeps the newest values). */
export class MigrationConflictError extends Error {}

export async function migrateSecrets(input: MigrateInput): Promise<MigrateResult> {
  const path = join(input.dataDir, MIGRATION_FILE);
  const step = async (s: MigrationStep): Promise<void> => input.onStep?.(s);
  const existing = await readMigrationRecord(input.dataDir);
  if (existing && (existing.to !== input.to || existing.from !== input.from))
    throw new MigrationConflictError(
      `An earlier migration to the ${existing.to} store is unfinished; run: pikpak-token-broker secret-store migrate --to ${existing.to}`,
    );
  const now = input.now ?? Date.now;
  const record = (phase: 'copy' | 'delete'): Promise<void> =>
    writeFileDurably(
      path,
      Buffer.from(
        `${JSON.stringify({ version: 1, from: input.from, to: input.to, phase, startedAt: existing?.startedAt ?? now() })}\n`,
      ),
    );

  const refs = await secretsToMove(input);
  // A fresh run checks both stores answer before it records anything: a record left by a run that
  // could never start (no D-Bus, a locked keychain) would keep the broker from starting.
  if (!existing) await probeStores(input, refs);
  if (existing?.phase !== 'delete') {
    await record('copy');
    await step({ type: 'recorded', phase: 'copy' });
  }
  // Copy: the source wins (it is the store in use); a secret only in the target (deleted from
  // the source by an interrupted delete phase) stays where it is.
  const expected = new Map<string, Secret>();
  for (const ref of refs) {
    const value = await input.source.get(ref.account, ref.kind);
    if (value) {
      await input.target.set(ref.account, ref.kind, value);
      expected.set(keyOf(ref), value);
      await step({ type: 'copied', ref });
    } else if (!existing) {
      continue;
    } else {
      const already = await input.target.get(ref.account, ref.kind);
      if (already) expected.set(keyOf(ref), already);
    }
  }
  // Verify by reading back through a fresh view of the target (for the file: decrypted again).
  const verifier = input.verifier ?? input.target;
  for (const ref of refs) {
    const want = expected.get(keyOf(ref));
    if (!want) continue;
    const got = await verifier.get(ref.account, ref.kind);
    if (!got || !got.equals(want))
      throw new Error(
        `Verification failed: the ${input.to} store does not hold ${ref.account}'s ${ref.kind} after writing it; nothing was deleted from the ${input.from} store`,
      );
  }
  await step({ type: 'verified' });
  await record('delete');
  await step({ type: 'recorded', phase: 'delete' });
  const moved: SecretRef[] = [];
  for (const ref of refs) {
    if (!expected.has(keyOf(ref))) continue;
    moved.push(ref);
    if (await input.source.get(ref.account, ref.kind)) await input.source.delete(ref.account, ref.kind);
    await step({ type: 'deleted', ref });
  }
  await unlink(path);
  await step({ type: 'done' });
  return { moved, resumed: existing !== undefined };
}

const PROBE_ACCOUNT = '.pikpak-token-broker-migration-probe';

/** Throws the store's own error when the source cannot be read or the target cannot be written. */
async function probeStores(input: MigrateInput, refs: readonly SecretRef[]): Promise<void> {
  if (refs[0]) await input.source.get(refs[0].account, refs[0].kind);
  await input.target.set(PROBE_ACCOUNT, 'refresh-token', new Secret('probe'));
  await input.target.delete(PROBE_ACCOUNT, 'refresh-token');
}

async function secretsToMove(input: MigrateInput): Promise<SecretRef[]> {
  const refs = new Map<string, SecretRef>();
  const add = (ref: SecretRef): void => void refs.set(keyOf(ref), ref);
  for (const account of input.accounts) {
    add({ account, kind: 'refresh-token' });
    add({ account, kind: 'password' });
  }
  // Loaded here, not at the top: the daemon reads the migration record at every start and needs
  // neither the CA's X.509 code nor the age code for that (~15 MB and ~0.1 s each).
  const [{ CA_KEY_ACCOUNT, CA_KEY_KIND }, { AgeFileSecretStore }] = await Promise.all([
    import('../bridge/local-ca.js'),
    import('../storage/age-file-secret-store.js'),
  ]);
  add({ account: CA_KEY_ACCOUNT, kind: CA_KEY_KIND });
  for (const store of [input.source, input.target])
    if (store instanceof AgeFileSecretStore) for (const ref of await store.list()) add(ref);
  return [...refs.values()];
}

const keyOf = (ref: SecretRef): string => `${ref.account}\u0000${ref.kind}`;
