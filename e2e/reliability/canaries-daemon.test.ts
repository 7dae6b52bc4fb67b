/**
 * Secret canaries against the real daemon and CLI (child processes, the most verbose logging, JSON
 * and pretty), the PikPak emulator at access-token TTL 1 s and a private gnome-keyring. Every
 * refresh token the emulator ever issued, both accounts' passwords, a wrong password, the client
 * secrets (live and revoked), wrong secrets and a forged surrogate are canaries. The broker is
 * exercised everywhere a secret passes: sign-in, rotations, token requests with right and wrong
 * secrets, the PikPak-compatible endpoint, invalid_grant (emulator revoke) with and without a
 * stored password, a wrong-password sign-in, a locked keychain, status, accounts, events, tokens,
 * errors, a restart. Then no canary may appear in any daemon or CLI output, any error answer, or
 * any file under the data folder, HOME (keyring included), the XDG folders or new /tmp files —
 * except where a secret is printed on purpose: `clients add` printing the new secret on stdout,
 * and the PikPak-compatible answer handing the client its own surrogate.
 *
 * Figures: test-results/reliability/canaries-daemon.json.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Emulator } from '../emulator/server.js';
import { runCli, spawnCli, waitFor, type CliResult } from '../support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';
import {
  canaryValue,
  assertCleanScan,
  CONTROL,
  findCanaries,
  newTmpPaths,
  plantControl,
  scanFiles,
  splitControls,
  writeCanaryReport,
  startRecordingEmulator,
  tmpEntries,
  type Canary,
  type Finding,
  type RecordingEmulator,
} from './canaries-scan.js';
import {
  adminToken,
  socketCall,
  startDaemonProcess,
  waitForStatus,
  type DaemonProcess,
  type SocketAnswer,
} from './keychain-harness.js';

const MAIN = { username: 'canary-main@example.com', password: canaryValue('pw-main') };
const SECOND = { username: 'canary-second@example.com', password: canaryValue('pw-second') };
const WRONG_PASSWORD = canaryValue('pw-wrong');
/** Shaped like real client secrets, so that nothing treats them differently. */
const fakeSecret = (): string => `pkb_${randomBytes(32).toString('base64url')}`;
const WRONG_SECRET = fakeSecret();
const FORGED_SURROGATE = `${fakeSecret()}.main`;
const BODY_CANARY = canaryValue('rt-in-a-broken-body');
const REJECTED_CANARY = canaryValue('at-reported-rejected');
const CLIENT_ID = 'YNxT9w7GMdWvEOKa';
const CLIENT_SECRET = 'dbw2OtmVEeuUvIptb1Coyg';

const startedAt = Date.now();
const tmpBefore = await tmpEntries();
const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

interface Output {
  readonly where: string;
  readonly text: string;
  /** Canaries this output may carry on purpose (a new secret printed once, a client's own surrogate). */
  readonly allowed?: readonly string[];
}

describe('secret canaries: daemon, CLI, token service, files', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let recording: RecordingEmulator;
  let emulator: Emulator;
  let dir: string;
  let dataDir: string;
  let socket: string;
  let common: string[];
  const outputs: Output[] = [];
  const secrets: { kind: string; value: string }[] = [];

  before(async () => {
    recording = await startRecordingEmulator({ accessTtlSeconds: 1, accounts: [MAIN, SECOND] });
    emulator = recording.emulator;
    dir = await mkdtemp(join(tmpdir(), 'pkb-canaries-'));
    dataDir = join(dir, 'data');
    socket = join(dir, 'run', 'broker.sock');
    common = [
      '--data-dir',
      dataDir,
      '--socket',
      socket,
      '--keychain-service',
      `pkb-canaries-${process.pid}`,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
  });

  after(async () => {
    await emulator?.close();
    await keyring.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({ ...keyring.env, PIKPAK_BROKER_DEBUG: '1' });

  /** A CLI command at the most verbose log level, its outputs kept for the scan. */
  async function cli(
    args: string[],
    options: { input?: string; format?: 'json' | 'pretty'; allowedStdout?: string[] } = {},
  ): Promise<CliResult> {
    const result = await runCli(
      [...args, '--log-level', 'trace', '--log-format', options.format ?? 'pretty', ...common],
      { env: env(), input: options.input, timeoutMs: 90_000 },
    );
    const name = `\`${args.join(' ')}\``;
    outputs.push({ where: `${name} stdout`, text: result.stdout, allowed: options.allowedStdout });
    outputs.push({ where: `${name} stderr`, text: result.stderr });
    return result;
  }

  async function daemon(format: 'json' | 'pretty', level: 'debug' | 'trace'): Promise<DaemonProcess> {
    const d = await startDaemonProcess(
      { args: ['--log-level', level, '--log-format', format, ...common], env: env() },
      socket,
    );
    void d.exited.then(() => {
      outputs.push({ where: `daemon (${format}, ${level}) stdout`, text: d.stdout() });
      outputs.push({ where: `daemon (${format}, ${level}) stderr`, text: d.stderr() });
    });
    return d;
  }

  /** A token-service call; its answer is kept for the scan (`allowed`: what it may carry on purpose). */
  async function call(
    what: string,
    method: string,
    path: string,
    options: Parameters<typeof socketCall>[3] & { allowed?: string[] } = {},
  ): Promise<SocketAnswer> {
    const answer = await socketCall(socket, method, path, options);
    outputs.push({ where: `${what}: HTTP ${answer.status}`, text: answer.text, allowed: options.allowed });
    return answer;
  }

  const lineage = (user: string) => emulator.stats().accounts[user]!.refreshTokenLineage;

  async function revoke(username: string): Promise<void> {
    const res = await fetch(`${emulator.url}/__emulator/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username }),
    });
    assert.equal(res.status, 200);
  }

  it('exercises every path a secret takes, then finds no canary anywhere', { timeout: 240_000 }, async () => {
    // Sign-in without a daemon (local broker), with the password remembered.
    const login = await cli(
      ['login', '--account', 'main', '--username', MAIN.username, '--password-stdin', '--remember-password'],
      { input: MAIN.password, format: 'json' },
    );
    assert.equal(login.code, 0, login.stderr);

    let d = await daemon('json', 'debug');
    try {
      // A second account through the daemon, without the password; a wrong password.
      // Client secrets: printed once on stdout (allowed there only), one of them revoked later.
      const [second, wrong, addedFirst, addedSpare] = await Promise.all([
        cli(['login', '--account', 'second', '--username', SECOND.username, '--password-stdin'], {
          input: SECOND.password,
        }),
        cli(['login', '--account', 'third', '--username', MAIN.username, '--password-stdin'], {
          input: WRONG_PASSWORD,
          format: 'json',
        }),
        runClientsAdd('alist', ['--account', 'main']),
        runClientsAdd('spare', []),
      ]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(wrong.code, 5, wrong.stderr);
      const revoked = await cli(['clients', 'revoke', 'spare']);
      assert.equal(revoked.code, 0, revoked.stderr);

      await waitFor(() => lineage(MAIN.username).length >= 6, 'rotations', 30_000);

      // Consumers: right, wrong, revoked and out-of-scope secrets.
      const ok = await call('token, right secret', 'GET', '/v1/accounts/main/token', { bearer: addedFirst });
      assert.equal(ok.status, 200);
      assert.equal(
        (await call('token, wrong secret', 'GET', '/v1/accounts/main/token', { bearer: WRONG_SECRET }))
          .status,
        401,
      );
      assert.equal(
        (await call('token, revoked secret', 'GET', '/v1/accounts/main/token', { bearer: addedSpare }))
          .status,
        401,
      );
      assert.equal(
        (await call('token, other account', 'GET', '/v1/accounts/second/token', { bearer: addedFirst }))
          .status,
        403,
      );
      const rejected = await call(
        'token rejected (unknown token)',
        'POST',
        '/v1/accounts/main/token/rejected',
        {
          bearer: addedFirst,
          body: { access_token: REJECTED_CANARY },
        },
      );
      assert.equal(rejected.status, 200, rejected.text);

      // The PikPak-compatible endpoint: the client's own surrogate comes back to it (allowed
      // there), a forged surrogate, a wrong password-secret, a broken body.
      const form = (refreshToken: string): string =>
        new URLSearchParams({
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        }).toString();
      const compat = await call('compat refresh', 'POST', `/v1/auth/token?client_id=${CLIENT_ID}`, {
        body: form(addedFirst),
        contentType: 'application/x-www-form-urlencoded',
        allowed: [addedFirst],
      });
      assert.equal(compat.status, 200, compat.text);
      const surrogate = compat.json<{ refresh_token: string }>().refresh_token;
      assert.equal(surrogate, `${addedFirst}.main`);
      const again = await call('compat refresh with the surrogate', 'POST', '/v1/auth/token', {
        body: form(surrogate),
        contentType: 'application/x-www-form-urlencoded',
        allowed: [addedFirst],
      });
      assert.equal(again.status, 200, again.text);
      const forged = await call('compat, forged surrogate', 'POST', '/v1/auth/token', {
        body: form(FORGED_SURROGATE),
        contentType: 'application/x-www-form-urlencoded',
      });
      assert.equal(forged.status, 400);
      assert.match(forged.text, /invalid_grant/);
      const signin = await call('compat sign-in, wrong secret', 'POST', '/v1/auth/signin', {
        body: {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: MAIN.username,
          password: WRONG_SECRET,
        },
      });
      assert.equal(signin.status, 400);
      const broken = await call('compat, broken JSON', 'POST', '/v1/auth/token', {
        body: `{"grant_type":"refresh_token","refresh_token":"${BODY_CANARY}",`,
        contentType: 'application/json',
      });
      assert.equal(broken.status, 400);
      const brokenAdmin = await call('admin, broken JSON', 'POST', '/v1/admin/login', {
        body: `{"account":"x","password":"${BODY_CANARY}"`,
        bearer: await adminToken(dataDir),
      });
      assert.equal(brokenAdmin.status, 400);

      // Events while things happen: the CLI (admin) and a consumer stream.
      const events = spawnCli(['events', '--json', '--log-level', 'trace', ...common], { env: env() });
      const eventsOut = collectStream(events);
      const stream = await openStream(addedFirst);

      // invalid_grant: main re-signs in with its stored password; second needs a human.
      await revoke(MAIN.username);
      await revoke(SECOND.username);
      const status = await waitForStatus(
        socket,
        dataDir,
        (s) =>
          s.accounts.find((a) => a.name === 'second')?.state === 'reauth-required' &&
          s.accounts.find((a) => a.name === 'main')?.state === 'healthy' &&
          lineage(MAIN.username).filter((e) => e.issuedBy === 'signin').length >= 2,
        'main recovered by itself, second needing a sign-in',
      );
      assert.equal(status.health, 'error');

      // A locked keychain for a few rotations.
      await keyring.lock();
      const base = lineage(MAIN.username).length;
      await waitFor(() => lineage(MAIN.username).length >= base + 2, 'rotations while locked', 30_000);
      const lockedStatus = await cli(['status'], { format: 'json' });
      assert.equal(lockedStatus.code, 3, lockedStatus.stderr);
      assert.match(lockedStatus.stdout, /UNAVAILABLE/);
      await keyring.unlock();
      await waitForStatus(
        socket,
        dataDir,
        (s) => s.keychain.pending_writes === 0,
        'the keychain to catch up',
      );

      events.kill('SIGTERM');
      const followed = await eventsOut;
      outputs.push({ where: '`events --json` stdout', text: followed.stdout });
      outputs.push({ where: '`events --json` stderr', text: followed.stderr });
      assert.match(followed.stdout, /"event":"rotated"/);
      const consumerEvents = await stream.close();
      outputs.push({ where: 'consumer event stream', text: consumerEvents });
      assert.match(consumerEvents, /event: rotated/);

      // Status, accounts, tokens and their errors.
      const [json, accounts, token, needsLogin, unknown, clients] = await Promise.all([
        cli(['status', '--json'], { format: 'json' }),
        cli(['accounts', '--json']),
        cli(['token', '--account', 'main', '--json']),
        cli(['token', '--account', 'second']),
        cli(['logout', '--account', 'nope'], { format: 'json' }),
        cli(['clients', 'list', '--json'], { format: 'json' }),
      ]);
      assert.equal(json.code, 3, json.stderr);
      assert.equal(accounts.code, 0, accounts.stderr);
      assert.equal(token.code, 0, token.stderr);
      assert.equal(needsLogin.code, 3, needsLogin.stderr);
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.equal(clients.code, 0, clients.stderr);
    } finally {
      const stopAt = Date.now();
      const stopped = await d.stop();
      assert.equal(
        stopped.code,
        0,
        `${JSON.stringify(stopped)} after ${Date.now() - stopAt} ms: ${d.stderr().slice(-2000)}`,
      );
    }

    // Restart with pretty logs at trace: resumes; a wrong secret once more; the second account signs in again.
    d = await daemon('pretty', 'trace');
    try {
      await waitForStatus(socket, dataDir, (s) => s.accounts[0]?.state === 'healthy', 'main healthy again');
      assert.equal(
        (
          await call('token, wrong secret (restart)', 'GET', '/v1/accounts/main/token', {
            bearer: WRONG_SECRET,
          })
        ).status,
        401,
      );
      const relogin = await cli(
        ['login', '--account', 'second', '--username', SECOND.username, '--password-stdin'],
        { input: SECOND.password },
      );
      assert.equal(relogin.code, 0, relogin.stderr);
      await waitForStatus(
        socket,
        dataDir,
        (s) => s.accounts.every((a) => a.state === 'healthy' || a.state === 'refreshing'),
        'both accounts working',
      );
    } finally {
      await d.stop();
    }

    // The scan.
    const refreshTokens = recording.refreshTokens();
    const canaries: Canary[] = [
      ...refreshTokens.map((value) => ({ kind: 'refresh token', value })),
      { kind: 'password (main)', value: MAIN.password },
      { kind: 'password (second)', value: SECOND.password },
      { kind: 'wrong password', value: WRONG_PASSWORD },
      { kind: 'wrong client secret', value: WRONG_SECRET },
      { kind: 'forged surrogate', value: FORGED_SURROGATE },
      { kind: 'secret in a broken body', value: BODY_CANARY },
      { kind: 'reported access token', value: REJECTED_CANARY },
      ...secrets,
      // Positive controls: the username is in `status --json`; a planted file is found.
      { kind: `${CONTROL}: username`, value: MAIN.username },
      await plantControl(dataDir),
    ];
    const inOutputs: Finding[] = outputs.flatMap((o) =>
      findCanaries(
        o.text,
        canaries.filter((c) => !o.allowed?.includes(c.value)),
        o.where,
      ),
    );
    const roots = [dir, keyring.dir];
    const own = await scanFiles(roots, canaries);
    const fresh = (await newTmpPaths(tmpBefore)).filter((p) => !roots.includes(p));
    const shared = await scanFiles(fresh, canaries, { modifiedSince: startedAt });
    const { controls, leaks: findings } = splitControls([...inOutputs, ...own.findings, ...shared.findings]);
    const kinds: Record<string, number> = {};
    for (const c of canaries) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
    const places = outputs.length + own.files + shared.files;
    const real = canaries.filter((c) => !c.kind.startsWith(CONTROL)).length;
    await writeCanaryReport('daemon and CLI', {
      canaries: real,
      places,
      checks: real * places,
      findings: findings.length,
      canariesByKind: kinds,
      placesByKind: {
        outputsAndAnswers: outputs.length,
        outputBytes: outputs.reduce((n, o) => n + Buffer.byteLength(o.text), 0),
        files: own.files + shared.files,
        fileBytes: own.bytes + shared.bytes,
      },
      controlsFound: controls.length,
      ms: Date.now() - startedAt,
    });

    assert.ok(refreshTokens.length >= 20, `refresh tokens to look for: ${refreshTokens.length}`);
    assert.ok(own.files >= 5, `files scanned: ${own.files}`);
    assertCleanScan(findings, controls, (where) => where.startsWith('`status --json`'), '`status --json`');
  });

  /** `clients add`: the secret on stdout (the one allowed place), a canary everywhere else. */
  async function runClientsAdd(name: string, extra: string[]): Promise<string> {
    const result = await runCli(['clients', 'add', name, ...extra, '--log-level', 'trace', ...common], {
      env: env(),
      timeoutMs: 90_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const secret = result.stdout.trim();
    assert.match(secret, /^pkb_[A-Za-z0-9_-]{43}$/);
    secrets.push({ kind: `client secret (${name})`, value: secret });
    outputs.push({ where: `\`clients add ${name}\` stdout`, text: result.stdout, allowed: [secret] });
    outputs.push({ where: `\`clients add ${name}\` stderr`, text: result.stderr });
    return secret;
  }

  /** A consumer's event stream; `close()` returns what it received. */
  async function openStream(secret: string): Promise<{ close(): Promise<string> }> {
    let text = '';
    const req = request({
      socketPath: socket,
      path: '/v1/events',
      headers: { host: 'localhost', authorization: `Bearer ${secret}`, accept: 'text/event-stream' },
    });
    const ended = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('close', resolve);
      });
      req.on('error', () => resolve());
    });
    req.end();
    return {
      async close() {
        req.destroy();
        await ended;
        return text;
      },
    };
  }
});

function collectStream(child: ReturnType<typeof spawnCli>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end();
  return new Promise((resolve) => child.on('close', () => resolve({ stdout, stderr })));
}
