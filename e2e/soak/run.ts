#!/usr/bin/env node
/**
 * `npm run soak -- --minutes N`: the daemon under a mixed load with upstream faults for N minutes;
 * prints the report (Markdown tables) and writes it as JSON. See e2e/soak/README.md and --help.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';

import { parseFaultSpec } from '../emulator/faults.js';
import type { FaultSpec } from '../emulator/types.js';
import { formatReport } from './format.js';
import type { FaultMixEntry } from './types.js';
import { runSoak, SoakUnavailableError } from './soak.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_OUT = join('test-results', 'soak', 'latest.json');
const ENV_PREFIX = 'PIKPAK_BROKER_SOAK_';

const envName = (flag: string): string => ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');

function positive(what: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(`expected a positive ${integer ? 'integer' : 'number'} (${what})`);
    return n;
  };
}

function seedOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  return n;
}

/** Commander turns a boolean flag on whenever its variable exists; read 0/false/no/off as "not set". */
function dropFalseBooleanEnv(flag: string): void {
  const name = envName(flag);
  const value = process.env[name];
  if (value !== undefined && /^(0|false|no|off|)$/i.test(value.trim())) delete process.env[name];
}

const program = new Command()
  .name('npm run soak --')
  .description(
    'Soak the broker: the real daemon (through the CLI, with the AList bridge) against the PikPak emulator at ' +
      'access-token TTL 1 s with random faults on the token endpoint, N consumers using the socket API, the ' +
      'PikPak-compatible endpoint and the bridge (the Go AList client where Go is installed), and a baseline ' +
      'of two naive holders of another account. Reports rotations, consumer requests, invalid_grant (must be ' +
      '0), the longest time any consumer went without a valid token, and the daemon’s RSS over time. ' +
      'Never calls the real PikPak; the keychain is a private gnome-keyring.',
  )
  .addOption(
    new Option('--minutes <n>', 'how long the load runs (fractions allowed: 0.5 = 30 s)')
      .env(envName('minutes'))
      .argParser(positive('minutes', false))
      .default(1),
  )
  .addOption(
    new Option('--seed <n>', 'seed for the fault draws and consumer pacing (default: random, printed)')
      .env(envName('seed'))
      .argParser(seedOf),
  )
  .addOption(
    new Option('--consumers <n>', 'how many consumers (round-robin: socket, PikPak-compatible, bridge)')
      .env(envName('consumers'))
      .argParser(positive('consumers', true))
      .default(10),
  )
  .addOption(
    new Option('--out <file>', 'where to write the JSON report').env(envName('out')).default(DEFAULT_OUT),
  )
  .addOption(
    new Option(
      '--faults <file>',
      'the fault mix: a JSON array of the emulator\'s fault specs ({"endpoint":"token","kind":"timeout","probability":0.01}, …) ' +
        'instead of the default (see e2e/soak/README.md)',
    ).env(envName('faults')),
  )
  .addOption(
    new Option('--json', 'print the JSON report on stdout instead of the tables').env(envName('json')),
  )
  .addOption(new Option('--no-go', 'bridge consumers in Node even where Go is installed').env(envName('go')))
  .addHelpText(
    'after',
    `
Every flag --foo-bar also reads ${ENV_PREFIX}FOO_BAR (the flag wins); yes/no flags read 1/0, true/false,
yes/no, on/off (${ENV_PREFIX}GO=0 is --no-go).

Exit codes: 0 every check passed; 1 a check failed (the report says which) or the soak broke;
2 usage; 3 no private keychain could be started (Debian: gnome-keyring dbus-x11 libsecret-tools).

Examples:
  npm run soak -- --minutes 5
  npm run soak -- --minutes 60 --seed 7 --out test-results/soak/hour.json
  ${ENV_PREFIX}MINUTES=0.5 npm run soak -- --json`,
  );

/** A JSON array of fault specs (or of {label, spec}), validated by the emulator's own parser. */
async function readFaults(file: string): Promise<FaultMixEntry[]> {
  const list = JSON.parse(await readFile(file, 'utf8')) as unknown;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of fault specs`);
  return list.map((item: unknown) => {
    const entry = item as { label?: unknown; spec?: unknown };
    const spec = parseFaultSpec(entry.spec ?? item);
    const label = typeof entry.label === 'string' ? entry.label : describeFault(spec);
    return { label, spec };
  });
}

function describeFault(spec: FaultSpec): string {
  const what =
    spec.kind === 'status'
      ? `status ${spec.status}`
      : spec.kind === 'delay'
        ? `delay ${spec.ms} ms`
        : spec.kind;
  return `${what} on ${spec.endpoint}${'timing' in spec && spec.timing === 'after' ? ' (after)' : ''}`;
}

async function main(): Promise<number> {
  dropFalseBooleanEnv('json');
  const goVar = process.env[envName('go')];
  if (goVar !== undefined && /^(1|true|yes|on)$/i.test(goVar.trim())) delete process.env[envName('go')];
  else if (goVar !== undefined && !/^(0|false|no|off|)$/i.test(goVar.trim())) {
    console.error(`${envName('go')}=${goVar} is not a yes/no value`);
    return 2;
  }
  program.exitOverride((error) => {
    throw error;
  });
  try {
    program.parse();
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode ?? 2;
    return code === 0 ? 0 : 2;
  }
  const opts = program.opts();
  const seed = opts.seed ?? Math.floor(Math.random() * 0xffff_ffff);
  const out = resolve(REPO_ROOT, opts.out);
  let faults: FaultMixEntry[] | undefined;
  try {
    if (opts.faults) faults = await readFaults(resolve(opts.faults));
  } catch (error) {
    console.error(`--faults: ${(error as Error).message}`);
    return 2;
  }
  let report;
  try {
    console.error(`soak: seed ${seed}`);
    report = await runSoak({
      durationMs: Math.round(opts.minutes * 60_000),
      seed,
      consumers: opts.consumers,
      go: opts.go ? 'auto' : 'off',
      ...(faults ? { faults } : {}),
      progress: (line) => console.error(line),
    });
  } catch (error) {
    if (error instanceof SoakUnavailableError) {
      console.error(`soak: ${error.message}`);
      return 3;
    }
    console.error(`soak failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(formatReport(report));
  console.error(`soak: report written to ${out}`);
  return report.checks.every((c) => c.ok) ? 0 : 1;
}

process.exitCode = await main();
