/**
 * Runs KeyringSecretStore operations in a process of its own and prints the outcomes as one JSON
 * line. Started by `runKeyringChild` (keyring-session.ts) with the environment of the scenario
 * under test (private keyring, no session bus, …), because the keychain binding reads the bus
 * address once per process. Test-only: it prints the values it reads.
 */
import { KeychainUnavailableError } from '../../main/core/errors/index.js';
import { Secret } from '../../main/core/secret.js';
import { KeyringSecretStore } from '../../main/storage/keyring-secret-store.js';
import type { KeyringChildOutcome, KeyringChildRequest } from './keyring-session.js';

const request = JSON.parse(process.argv[2] ?? '{}') as KeyringChildRequest;
const store = new KeyringSecretStore({ service: request.service, timeoutMs: request.timeoutMs });
const outcomes: KeyringChildOutcome[] = [];
for (const step of request.ops) {
  try {
    if (step.op === 'get') {
      const value = await store.get(step.account, step.kind);
      outcomes.push({ ok: true, value: value ? value.reveal() : null });
    } else if (step.op === 'set') {
      await store.set(step.account, step.kind, new Secret(step.value ?? ''));
      outcomes.push({ ok: true });
    } else {
      await store.delete(step.account, step.kind);
      outcomes.push({ ok: true });
    }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    outcomes.push({
      ok: false,
      name: e.name,
      message: e.message,
      ...(error instanceof KeychainUnavailableError
        ? { code: error.code, reason: error.reason, detail: error.detail }
        : {}),
    });
  }
}
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
