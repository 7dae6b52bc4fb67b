/**
 * The settings file's schema (zod v4), matching `BrokerSettings` / `AccountRecord` in core/ports.ts
 * exactly (checked at compile time below). Objects are strict: an unknown key is an error on load
 * (a typo is reported, not dropped on the next save) and on save (nothing unexpected, such as a
 * secret, can ride along).
 */
import { z } from 'zod';
import { PLATFORMS } from '../pikpak/protocol.js';
import type { AccountRecord, BrokerSettings, ReauthRecord, RefreshIntent } from '../core/ports.js';

const timestamp = z.number().int().nonnegative();
/** A few hex digits of a hash (Secret.fingerprint); anything else here, say a whole token, is refused. */
const fingerprint = z.string().regex(/^[0-9a-f]{8,64}$/, 'expected a hex fingerprint');

export const REFRESH_INTENT_STATES = [
  'in-flight',
  'not-sent',
  'answered-transient',
  'outcome-unknown',
  'rotated-unsaved',
] as const;

export const refreshIntentSchema = z.strictObject({
  tokenFingerprint: fingerprint,
  startedAt: timestamp,
  // An intent written before the state was recorded says only that a call was started: in flight.
  state: z.enum(REFRESH_INTENT_STATES).default('in-flight'),
});

export const reauthRecordSchema = z.strictObject({
  reason: z.enum([
    'invalid-grant',
    'rotated-during-crash',
    'unsaved-when-stopped',
    'no-refresh-token',
    'sign-in-failed',
  ]),
  since: timestamp,
  message: z.string(),
  deadTokenFingerprint: fingerprint.optional(),
});

export const accountRecordSchema = z.strictObject({
  name: z.string().min(1),
  username: z.string().min(1),
  platform: z.enum(PLATFORMS),
  deviceId: z.string().min(1),
  userId: z.string().min(1).optional(),
  rememberPassword: z.boolean(),
  createdAt: timestamp,
  lastRefreshAt: timestamp.optional(),
  refreshIntent: refreshIntentSchema.optional(),
  reauth: reauthRecordSchema.optional(),
});

export const brokerSettingsSchema = z
  .strictObject({
    version: z.literal(1),
    accounts: z.array(accountRecordSchema),
  })
  .superRefine((settings, ctx) => {
    const seen = new Set<string>();
    settings.accounts.forEach((account, index) => {
      if (seen.has(account.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', index, 'name'],
          message: 'duplicate account name',
        });
      }
      seen.add(account.name);
    });
  });

// Compile-time proof that the schema and the ports describe the same shapes, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type _SchemaMatchesPorts = [
  Assert<Same<z.output<typeof refreshIntentSchema>, RefreshIntent>>,
  Assert<Same<z.output<typeof reauthRecordSchema>, ReauthRecord>>,
  Assert<Same<z.output<typeof accountRecordSchema>, AccountRecord>>,
  Assert<Same<keyof z.output<typeof accountRecordSchema>, keyof AccountRecord>>,
  Assert<Same<z.output<typeof brokerSettingsSchema>, BrokerSettings>>,
];

/** `accounts.0.platform: Invalid option: …` — the first issue, for error messages (no values). */
export function describeFirstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid settings';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${where}: ${issue.message}`;
}
