/**
 * A token service (shipped limits, socket + TCP) in a process of its own, for tests that run it
 * under a small open-file limit. Prints `{"socketPath","port","secret"}` on stdout, its log as
 * JSON lines on stderr, and stops when stdin closes.
 */
import type { Logger } from '../../core/ports.js';
import { startRig } from './service-rig.js';

const line =
  (level: string) =>
  (obj: object, msg?: string): void => {
    process.stderr.write(`${JSON.stringify({ level, msg, ...obj })}\n`);
  };
const log: Logger = { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') };

const rig = await startRig({ listen: '127.0.0.1:0', log });
const secret = await rig.addClient('c', ['main']);
process.stdout.write(
  `${JSON.stringify({ socketPath: rig.socketPath, port: Number(rig.service.tcpAddress!.split(':')[1]), secret })}\n`,
);
process.stdin.resume();
process.stdin.on('end', () => void rig.stop().then(() => process.exit(0)));
