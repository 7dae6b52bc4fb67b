#!/usr/bin/env node
/**
 * Runs the PikPak emulator as a process, for demos, manual tests and other languages' clients:
 *
 *   npm run emulator -- --port 8787 --access-ttl 60 --account me@example.com:secret
 *
 * Prints `listening http://127.0.0.1:PORT` once ready (and `listening https://…` plus the CA file
 * with --https-port). Every flag --foo-bar can also come from the environment variable
 * PIKPAK_BROKER_FOO_BAR; command-line flags win.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';

import { DEFAULT_ACCESS_TTL_SECONDS, startEmulator } from './server.js';
import type { EmulatorAccount } from './types.js';

const DEMO_ACCOUNT: EmulatorAccount = { username: 'demo@example.com', password: 'demo-password' };

const ENV_PREFIX = 'PIKPAK_BROKER_';
const BOOLEAN_FLAGS = ['no-require-captcha', 'captcha-challenge', 'verbose'];

function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

/**
 * Commander turns a boolean flag on whenever its variable is set, whatever the value; make
 * `PIKPAK_BROKER_CAPTCHA_CHALLENGE=0` (or false/no/off/empty) mean "not set" instead.
 */
function dropFalseBooleanEnv(env: NodeJS.ProcessEnv): void {
  for (const flag of BOOLEAN_FLAGS) {
    const name = envName(flag);
    const value = env[name];
    if (value !== undefined && /^(0|false|no|off|)$/i.test(value.trim())) delete env[name];
  }
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function parseAccount(value: string): EmulatorAccount {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) throw new InvalidArgumentError('expected user:password');
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

function collectAccount(value: string, previous: EmulatorAccount[] | undefined): EmulatorAccount[] {
  return [...(previous ?? []), parseAccount(value)];
}

function readAccountsFile(file: string): EmulatorAccount[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.map((entry, i) => {
    const a = entry as Partial<Record<keyof EmulatorAccount, unknown>>;
    if (typeof a.username !== 'string' || typeof a.password !== 'string' || !a.username || !a.password) {
      throw new Error(`${file}: entry ${i} needs "username" and "password" strings`);
    }
    return {
      username: a.username,
      password: a.password,
      ...(typeof a.userId === 'string' ? { userId: a.userId } : {}),
    };
  });
}

function buildProgram() {
  return new Command()
    .name('pikpak-emulator')
    .description(
      'A local PikPak (auth + a few drive calls) for tests and demos: strict single-use refresh tokens, ' +
        'captcha tokens and challenges, fault injection and stats under /__emulator/. Never calls PikPak.',
    )
    .addOption(
      new Option('--port <port>', 'HTTP port (0 = any free port)')
        .env(envName('port'))
        .argParser(integer(0, 65535))
        .default(0),
    )
    .addOption(new Option('--host <host>', 'address to listen on').env(envName('host')).default('127.0.0.1'))
    .addOption(
      new Option('--access-ttl <seconds>', 'expires_in of issued access tokens')
        .env(envName('access-ttl'))
        .argParser(integer(1, 10 * 365 * 86400))
        .default(DEFAULT_ACCESS_TTL_SECONDS),
    )
    .addOption(
      new Option('--https-port <port>', 'also serve HTTPS on this port (0 = any) with a generated CA')
        .env(envName('https-port'))
        .argParser(integer(0, 65535)),
    )
    .addOption(
      new Option(
        '--ca-out <file>',
        'where to write the CA certificate for --https-port (default: a temp file)',
      ).env(envName('ca-out')),
    )
    .addOption(
      new Option('--account <user:password>', 'seed an account (repeatable; default: the demo account)')
        .env(envName('account'))
        .argParser(collectAccount),
    )
    .addOption(
      new Option(
        '--accounts-file <file>',
        'seed accounts from a JSON array of {username, password, userId?}',
      ).env(envName('accounts-file')),
    )
    .addOption(
      new Option('--no-require-captcha', 'let sign-in through without a captcha token').env(
        envName('no-require-captcha'),
      ),
    )
    .addOption(
      new Option(
        '--captcha-challenge',
        'captcha init for sign-in answers a challenge URL (a human must verify)',
      ).env(envName('captcha-challenge')),
    )
    .addOption(
      new Option('--verbose', 'log request lines and token events (fingerprints only) to stderr').env(
        envName('verbose'),
      ),
    )
    .addHelpText(
      'after',
      `
Every flag --foo-bar can also be set with the environment variable ${ENV_PREFIX}FOO_BAR
(e.g. ${ENV_PREFIX}PORT=8787, ${ENV_PREFIX}ACCESS_TTL=60, ${ENV_PREFIX}CAPTCHA_CHALLENGE=1).

Admin API (same port): GET /__emulator/stats, POST|DELETE /__emulator/faults, POST /__emulator/config,
POST /__emulator/accounts, POST /__emulator/revoke. Example:
  curl -X POST localhost:8787/__emulator/faults -d '{"endpoint":"token","kind":"drop","timing":"after","count":1}'`,
    );
}

async function main(argv: string[] = process.argv): Promise<void> {
  dropFalseBooleanEnv(process.env);
  const program = buildProgram();
  program.parse(argv);
  const opts = program.opts();

  const accounts = [
    ...(opts.account ?? []),
    ...(opts.accountsFile ? readAccountsFile(opts.accountsFile) : []),
  ];
  const seeded = accounts.length > 0 ? accounts : [DEMO_ACCOUNT];
  const log = opts.verbose ? (line: string) => process.stderr.write(`[emulator] ${line}\n`) : undefined;

  const emulator = await startEmulator({
    port: opts.port,
    host: opts.host,
    accessTtlSeconds: opts.accessTtl,
    requireCaptcha: opts.requireCaptcha,
    captchaChallenge: opts.captchaChallenge ?? false,
    accounts: seeded,
    ...(opts.httpsPort === undefined ? {} : { https: { port: opts.httpsPort } }),
    ...(log ? { log } : {}),
  });

  const out: string[] = [`listening ${emulator.url}`];
  if (emulator.httpsUrl && emulator.caCertPem) {
    const caFile = resolve(opts.caOut ?? join(tmpdir(), `pikpak-emulator-ca-${process.pid}.pem`));
    writeFileSync(caFile, emulator.caCertPem, { mode: 0o644 });
    out.push(`listening ${emulator.httpsUrl}`, `ca-cert ${caFile}`);
  }
  const stats = emulator.stats();
  for (const account of seeded) {
    const userId = stats.accounts[account.username]?.userId ?? '';
    // An emulator account, not a real credential: printing it is what makes demos easy.
    out.push(`account ${account.username} password ${account.password} user-id ${userId}`);
  }
  out.push(
    `access-ttl ${opts.accessTtl}s, captcha ${opts.requireCaptcha ? 'required' : 'off'}` +
      `${opts.captchaChallenge ? ', challenge on' : ''}`,
  );
  process.stdout.write(out.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log?.(`${signal}: closing`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`pikpak-emulator: ${(error as Error).message}`);
  process.exit(1);
});
