/**
 * `SettingsStore` over a JSON file (`settings.json` in the data folder). Writes are atomic
 * (write-file-atomic: temp file 0600, fsync, rename) and serialized; a bad file is never replaced
 * by defaults: it stays where it is, a copy is kept next to it, and `SettingsCorruptError` says
 * where. Nothing secret is ever written: `save` refuses Secret values and unknown keys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { SettingsCorruptError } from '../core/errors/index.js';
import type { BrokerSettings, SettingsStore } from '../core/ports.js';
import { isSecret } from '../core/secret.js';
import { ensurePrivateDir } from './paths.js';
import * as v from 'valibot';
import { brokerSettingsSchema, describeFirstIssue } from './settings-schema.js';

export const SETTINGS_FILE = 'settings.json';

export interface FileSettingsStoreOptions {
  dataDir: string;
  /** For the backup file's timestamp. */
  now?: () => number;
}

export function emptySettings(): BrokerSettings {
  return { version: 1, accounts: [] };
}

export class FileSettingsStore implements SettingsStore {
  readonly path: string;
  readonly #dataDir: string;
  readonly #now: () => number;
  /** Saves run one after the other; loads wait for the saves queued before them. */
  #queue: Promise<void> = Promise.resolve();

  /** `new FileSettingsStore(dataDir)` or `new FileSettingsStore({ dataDir, now })`. */
  constructor(options: FileSettingsStoreOptions | string) {
    if (typeof options === 'string') options = { dataDir: options };
    this.#dataDir = options.dataDir;
    this.path = join(options.dataDir, SETTINGS_FILE);
    this.#now = options.now ?? Date.now;
  }

  async load(): Promise<BrokerSettings> {
    await this.#queue;
    let raw: Buffer;
    try {
      raw = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptySettings();
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, ''));
    } catch {
      // V8's message quotes the file's text; keep it out of the error (and the logs).
      throw await this.#corrupt(raw, 'not valid JSON');
    }
    const parsed = v.safeParse(brokerSettingsSchema, data);
    if (!parsed.success) throw await this.#corrupt(raw, describeFirstIssue(parsed.issues));
    return parsed.output;
  }

  /**
   * Validates and serializes at call time (later changes to `settings` do not leak into the file),
   * then writes after any save already queued. Rejects with a TypeError, writing nothing, when
   * the settings hold a Secret or do not match the schema.
   */
  save(settings: BrokerSettings): Promise<void> {
    let json: string;
    try {
      json = serialize(settings);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const run = this.#queue.then(() => this.#write(json));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #write(json: string): Promise<void> {
    await ensurePrivateDir(this.#dataDir);
    await writeFileAtomic(this.path, json, { mode: 0o600, fsync: true });
  }

  /** Keeps a copy of the bytes we judged bad (the original stays in place) and builds the error. */
  async #corrupt(raw: Buffer, reason: string): Promise<SettingsCorruptError> {
    const stamp = new Date(this.#now()).toISOString().replace(/[:.]/g, '-');
    const base = `${this.path}.corrupt-${stamp}`;
    for (let n = 0; n < 100; n++) {
      const backupPath = n === 0 ? base : `${base}-${n}`;
      try {
        await writeFile(backupPath, raw, { flag: 'wx', mode: 0o600 });
        return new SettingsCorruptError(this.path, backupPath, reason);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        return new SettingsCorruptError(this.path, undefined, reason, { cause: error });
      }
    }
    return new SettingsCorruptError(this.path, undefined, reason);
  }
}

function serialize(settings: BrokerSettings): string {
  const secretAt = findSecret(settings, []);
  if (secretAt !== undefined) {
    throw new TypeError(
      `Refusing to save settings: ${secretAt || '(root)'} is a Secret; secrets go to the keychain`,
    );
  }
  const parsed = v.safeParse(brokerSettingsSchema, settings);
  if (!parsed.success)
    throw new TypeError(`Refusing to save invalid settings: ${describeFirstIssue(parsed.issues)}`);
  return `${JSON.stringify(parsed.output, null, 2)}\n`;
}

/** The dotted path of the first Secret inside `value`, if any. */
function findSecret(value: unknown, path: string[], seen = new Set<object>()): string | undefined {
  if (isSecret(value)) return path.join('.');
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  for (const [key, child] of Object.entries(value)) {
    const found = findSecret(child, [...path, key], seen);
    if (found !== undefined) return found;
  }
  return undefined;
}
