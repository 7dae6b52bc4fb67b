/**
 * Reads an AList / OpenList's storages through its admin API, the way AList's own web UI does:
 * `GET /api/admin/storage/list?page=N&per_page=M` with the admin token as the bare `Authorization`
 * header (server/middlewares/auth.go). Every answer is HTTP 200 with `{code, message, data}`;
 * `code` carries the real status (server/common/resp.go). A storage's driver settings are a JSON
 * string in `addition` (internal/model/storage.go; PikPak's fields in drivers/pikpak/meta.go).
 *
 * Only what the scan needs is kept; secrets from `addition` (password, refresh token) are reduced
 * to what kind of value they hold and never leave this module as text.
 */
import * as v from 'valibot';
import { ADMIN_SECRET_PREFIX, CLIENT_SECRET_PREFIX } from '../service/bearer.js';

/** The PikPak drivers: `PikPak`, and `PikPakShare` (share links; older versions signed in too). */
export const PIKPAK_DRIVERS = ['PikPak', 'PikPakShare'] as const;
export type PikPakDriver = (typeof PIKPAK_DRIVERS)[number];

/** What a credential field of a storage holds, without its value. */
export type CredentialKind =
  | 'empty'
  /** A broker client secret (`pkb_…`, maybe `pkb_….<account>`): the storage is set up for the bridge. */
  | 'client-secret'
  /** The broker's admin credential: the broker refuses it, and it must never sit in AList's database. */
  | 'admin-credential'
  /** Anything else: a real PikPak refresh token or password. */
  | 'pikpak';

export interface PikPakStorage {
  readonly id: number;
  readonly mountPath: string;
  readonly driver: PikPakDriver;
  readonly disabled: boolean;
  /** AList's status line for the storage: `work`, or the error its last init or refresh hit. */
  readonly status: string;
  readonly username: string;
  readonly platform: string;
  readonly refreshTokenMethod: string;
  readonly deviceId: string;
  readonly refreshToken: CredentialKind;
  readonly password: CredentialKind;
  /** The account a `<secret>.<account>` credential names, if any. */
  readonly brokerAccount: string | undefined;
}

export interface StorageList {
  /** PikPak and PikPakShare storages only. */
  readonly storages: readonly PikPakStorage[];
  /** All storages AList reported, any driver. */
  readonly total: number;
}

export class AlistAdminError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'unauthorized' | 'unexpected',
  ) {
    super(message);
    this.name = 'AlistAdminError';
  }
}

const storageSchema = v.looseObject({
  id: v.number(),
  mount_path: v.string(),
  driver: v.string(),
  status: v.optional(v.string(), ''),
  disabled: v.optional(v.boolean(), false),
  addition: v.optional(v.string(), ''),
});
const pageSchema = v.looseObject({
  code: v.number(),
  message: v.optional(v.string(), ''),
  data: v.nullish(v.looseObject({ content: v.nullable(v.array(storageSchema)), total: v.number() })),
});

const PER_PAGE = 100;
const MAX_PAGES = 100;

export interface ListOptions {
  /** AList's address, e.g. `http://127.0.0.1:5244` (a sub-path site works too). */
  readonly url: string;
  /** The admin token (AList: Settings → Other → Token). */
  readonly token: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Every storage of the AList, page by page; PikPak ones parsed. */
export async function listAlistStorages(options: ListOptions): Promise<StorageList> {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const storages: PikPakStorage[] = [];
  let seen = 0;
  let total = 0;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const url = `${base}/api/admin/storage/list?page=${page}&per_page=${PER_PAGE}`;
    let text: string;
    let status: number;
    try {
      const res = await doFetch(url, {
        headers: { authorization: options.token, accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      throw new AlistAdminError(
        `AList at ${base} could not be reached: ${(error as Error).message}`,
        'unreachable',
      );
    }
    let parsed: v.InferOutput<typeof pageSchema>;
    try {
      parsed = v.parse(pageSchema, JSON.parse(text));
    } catch {
      throw new AlistAdminError(
        `${url} did not answer like AList's admin API (HTTP ${status}); is --url the AList address?`,
        'unexpected',
      );
    }
    if (parsed.code === 401 || parsed.code === 403)
      throw new AlistAdminError(
        `AList refused the token (${parsed.code} ${parsed.message}): use the admin token from AList's Settings → Other → Token`,
        'unauthorized',
      );
    if (parsed.code !== 200 || !parsed.data)
      throw new AlistAdminError(`AList answered ${parsed.code}: ${parsed.message}`, 'unexpected');
    total = parsed.data.total;
    const content = parsed.data.content ?? [];
    seen += content.length;
    for (const raw of content) {
      const storage = toPikPakStorage(raw);
      if (storage) storages.push(storage);
    }
    if (content.length === 0 || seen >= total) break;
  }
  return { storages, total };
}

function toPikPakStorage(raw: v.InferOutput<typeof storageSchema>): PikPakStorage | undefined {
  if (!(PIKPAK_DRIVERS as readonly string[]).includes(raw.driver)) return undefined;
  let addition: Record<string, unknown> = {};
  try {
    const value: unknown = raw.addition ? JSON.parse(raw.addition) : {};
    if (value && typeof value === 'object' && !Array.isArray(value))
      addition = value as Record<string, unknown>;
  } catch {
    addition = {};
  }
  const text = (key: string): string => (typeof addition[key] === 'string' ? (addition[key] as string) : '');
  const refreshToken = text('refresh_token');
  const password = text('password');
  return {
    id: raw.id,
    mountPath: raw.mount_path,
    driver: raw.driver as PikPakDriver,
    disabled: raw.disabled,
    status: raw.status.slice(0, 500),
    username: text('username'),
    platform: text('platform'),
    refreshTokenMethod: text('refresh_token_method'),
    deviceId: text('device_id'),
    refreshToken: credentialKind(refreshToken),
    password: credentialKind(password),
    brokerAccount: accountOf(refreshToken) ?? accountOf(password),
  };
}

export function credentialKind(value: string): CredentialKind {
  if (value === '') return 'empty';
  if (value.startsWith(ADMIN_SECRET_PREFIX)) return 'admin-credential';
  if (value.startsWith(CLIENT_SECRET_PREFIX)) return 'client-secret';
  return 'pikpak';
}

/** `pkb_<secret>.<account>` → `<account>`. */
function accountOf(value: string): string | undefined {
  if (!value.startsWith(CLIENT_SECRET_PREFIX) || value.startsWith(ADMIN_SECRET_PREFIX)) return undefined;
  const dot = value.indexOf('.');
  return dot === -1 ? undefined : value.slice(dot + 1) || undefined;
}
