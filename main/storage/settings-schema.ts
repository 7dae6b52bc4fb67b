/**
 * The settings file's schema (valibot), matching `BrokerSettings` / `AccountRecord` in core/ports.ts
 * exactly (checked at compile time below). Objects are strict: an unknown key is an error on load
 * (a typo is reported, not dropped on the next save) and on save (nothing unexpected, such as a
 * secret, can ride along).
 */
import * as v from 'valibot';
import { PLATFORMS } from '../pikpak/protocol.js';
import type { AccountRecord, BrokerSettings, ReauthRecord, RefreshIntent } from '../core/ports.js';
import { describeIssue, type Issue } from '../validation/issues.js';

const timestamp = v.pipe(v.number(), v.integer(), v.minValue(0));
/** A few hex digits of a hash (Secret.fingerprint); anything else here, say a whole token, is refused. */
const fingerprint = v.pipe(v.string(), v.regex(/^[0-9a-f]{8,64}$/, 'expected a hex fingerprint'));
const nonEmpty = v.pipe(v.string(), v.minLength(1));

export const REFRESH_INTENT_STATES = [
  'in-flight',
  'not-sent',
  'answered-transient',
  'outcome-unknown',
  'rotated-unsaved',
] as const;

export const refreshIntentSchema = v.strictObject({
  tokenFingerprint: fingerprint,
  startedAt: timestamp,
  // An intent written before the state was recorded says only that a call was started: in flight.
  state: v.optional(v.picklist(REFRESH_INTENT_STATES), 'in-flight'),
});

export const reauthRecordSchema = v.strictObject({
  reason: v.picklist([
    'invalid-grant',
    'rotated-during-crash',
    'unsaved-when-stopped',
    'no-refresh-token',
    'sign-in-failed',
  ]),
  since: timestamp,
  message: v.string(),
  deadTokenFingerprint: v.optional(fingerprint),
});

export const accountRecordSchema = v.strictObject({
  name: nonEmpty,
  username: nonEmpty,
  platform: v.picklist(PLATFORMS),
  deviceId: nonEmpty,
  userId: v.optional(nonEmpty),
  rememberPassword: v.boolean(),
  createdAt: timestamp,
  lastRefreshAt: v.optional(timestamp),
  refreshIntent: v.optional(refreshIntentSchema),
  reauth: v.optional(reauthRecordSchema),
});

export const brokerSettingsSchema = v.pipe(
  v.strictObject({
    version: v.literal(1),
    accounts: v.array(accountRecordSchema),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    const accounts = dataset.value.accounts;
    accounts.forEach((account, index) => {
      if (seen.has(account.name)) {
        addIssue({
          message: 'duplicate account name',
          path: [
            { type: 'object', origin: 'value', input: dataset.value, key: 'accounts', value: accounts },
            { type: 'array', origin: 'value', input: accounts, key: index, value: account },
            { type: 'object', origin: 'value', input: account, key: 'name', value: account.name },
          ],
        });
      }
      seen.add(account.name);
    });
  }),
);

// Compile-time proof that the schema and the ports describe the same shapes, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type _SchemaMatchesPorts = [
  Assert<Same<v.InferOutput<typeof refreshIntentSchema>, RefreshIntent>>,
  Assert<Same<v.InferOutput<typeof reauthRecordSchema>, ReauthRecord>>,
  Assert<Same<v.InferOutput<typeof accountRecordSchema>, AccountRecord>>,
  Assert<Same<keyof v.InferOutput<typeof accountRecordSchema>, keyof AccountRecord>>,
  Assert<Same<v.InferOutput<typeof brokerSettingsSchema>, BrokerSettings>>,
];

/** `accounts.0.platform: Invalid option: …` — the first issue, for error messages (no values). */
export function describeFirstIssue(issues: readonly Issue[]): string {
  return describeIssue(issues[0], '(root)', 'invalid settings');
}
