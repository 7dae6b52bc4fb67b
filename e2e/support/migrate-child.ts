/**
 * `secret-store migrate` as the CLI runs it (runSecretStoreMigration: instance lock, the real
 * keychain and secrets.age), killed with SIGKILL by itself when it reaches step `--kill-at N`
 * (0-based), the way a power cut or `kill -9` would stop it there. Prints `STEP n type` as it goes.
 *
 *   tsx e2e/support/migrate-child.ts --to file --kill-at 3 --data-dir D --keychain-service S --identity-file I
 */
import { parseArgs } from 'node:util';
import { runSecretStoreMigration } from '../../main/cli/commands/secret-store.js';
import { silentLogger } from '../../main/core/ports.js';

const { values } = parseArgs({
  options: {
    to: { type: 'string' },
    'kill-at': { type: 'string' },
    'data-dir': { type: 'string' },
    'keychain-service': { type: 'string' },
    'identity-file': { type: 'string' },
  },
});
const killAt = Number(values['kill-at']);
let n = 0;
await runSecretStoreMigration(
  {
    dataDir: values['data-dir']!,
    socketPath: `${values['data-dir']!}/broker.sock`,
    keychainService: values['keychain-service']!,
    identityFile: values['identity-file'],
    upstream: {},
  } as Parameters<typeof runSecretStoreMigration>[0],
  values.to === 'keychain' ? 'keychain' : 'file',
  silentLogger,
  (step) => {
    process.stdout.write(`STEP ${n} ${step.type}\n`);
    if (n++ === killAt) process.kill(process.pid, 'SIGKILL');
  },
);
process.stdout.write('COMPLETED\n');
