/**
 * Keychain faults with the real daemon (a child process) against the PikPak emulator at access
 * token TTL 1 s and a private gnome-keyring: no D-Bus session at all, a collection locked while
 * the daemon runs (and the daemon stopped while it is locked), and a keychain write that fails in
 * the middle of a rotation (the Secret Service hangs, then vanishes). Each time: the status says
 * so in words, consumers keep getting tokens from memory, nothing is written in plaintext
 * anywhere, the newest token reaches the keychain when it comes back, and no refresh token is
 * ever presented to PikPak twice (the emulator's lineage).
 *
 * Figures: test-results/reliability/keychain-faults.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Emulator } from '../emulator/server.js';
import { fingerprint } from '../emulator/tokens.js';
import type { RefreshTokenLineageEntry } from '../emulator/types.js';
import { runCli, waitFor, type CliResult } from '../support/cli-process.js';
import { noSessionEnv, startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';
import {
  canaryValue,
  CONTROL,
  assertCleanScan,
  findCanaries,
  newTmpPaths,
  plantControl,
  scanFiles,
  splitControls,
  startRecordingEmulator,
  tmpEntries,
  type Canary,
  type Finding,
  type RecordingEmulator,
} from './canaries-scan.js';
import {
  addClient,
  adminToken,
  keychainRefreshToken,
  liveStatus,
  socketCall,
  startDaemonProcess,
  waitForStatus,
  type DaemonProcess,
} from './keychain-harness.js';
import { writeReport } from './report.js';

const SERVICE = `pkb-kf-${process.pid}`;
const USERS = {
  nobus: 'nobus@example.com',
  locked: 'locked@example.com',
  midrot: 'midrot@example.com',
} as const;
const PASSWORDS = {
  nobus: canaryValue('pw-nobus'),
  locked: canaryValue('pw-locked'),
  midrot: canaryValue('pw-midrot'),
};

const startedAt = Date.now();
const tmpBefore = await tmpEntries();
const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

interface Place {
  readonly dir: string;
  readonly dataDir: string;
  readonly socket: string;
  readonly env: Record<string, string | undefined>;
  readonly common: string[];
}

describe('keychain faults: the real daemon, the emulator at TTL 1 s', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let recording: RecordingEmulator;
  let emulator: Emulator;
  const dirs: string[] = [];
  /** Every CLI and daemon output, to be searched for secrets at the end. */
  const outputs: { where: string; text: string }[] = [];
  const figures: Record<string, unknown> = {};
  let loginThroughDaemonWithoutKeychain: CliResult | undefined;

  before(async () => {
    recording = await startRecordingEmulator({
      accessTtlSeconds: 1,
      accounts: Object.entries(USERS).map(([key, username]) => ({
        username,
        password: PASSWORDS[key as keyof typeof USERS],
      })),
    });
    emulator = recording.emulator;
  });

  after(async () => {
    await emulator?.close();
    await keyring.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const lineage = (user: string): RefreshTokenLineageEntry[] =>
    emulator.stats().accounts[user]!.refreshTokenLineage;
  const refreshes = (user: string): number => lineage(user).filter((e) => e.issuedBy === 'refresh').length;
  const signins = (user: string): number => lineage(user).filter((e) => e.issuedBy === 'signin').length;
  const assertNoTokenTwice = (user: string): void => {
    const twice = lineage(user).filter((e) => e.presentations > 1);
    assert.deepEqual(
      twice.map((e) => e.id),
      [],
      `refresh tokens of ${user} presented more than once`,
    );
    assert.equal(emulator.stats().accounts[user]!.reuseAttempts, 0, `spent tokens of ${user} presented`);
  };

  async function place(name: string, env: Record<string, string | undefined>): Promise<Place> {
    const dir = await mkdtemp(join(tmpdir(), `pkb-kf-${name}-`));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const socket = join(dir, 'run', 'broker.sock');
    return {
      dir,
      dataDir,
      socket,
      env,
      common: [
        '--data-dir',
        dataDir,
        '--socket',
        socket,
        '--keychain-service',
        SERVICE,
        '--auth-base-url',
        emulator.url,
        '--drive-base-url',
        emulator.url,
      ],
    };
  }

  async function cli(where: string, p: Place, args: string[], input?: string): Promise<CliResult> {
    const result = await runCli([...args, ...p.common], { env: p.env, input, timeoutMs: 90_000 });
    outputs.push({ where: `${where} stdout`, text: result.stdout });
    outputs.push({ where: `${where} stderr`, text: result.stderr });
    return result;
  }

  async function daemon(where: string, p: Place, extra: { wrapper?: boolean; env?: object } = {}) {
    const d = await startDaemonProcess(
      {
        args: ['--log-format', 'json', '--log-level', 'debug', ...p.common],
        env: { ...p.env, ...extra.env },
        wrapper: extra.wrapper,
      },
      p.socket,
    );
    void d.exited.then(() => {
      outputs.push({ where: `${where} daemon stdout`, text: d.stdout() });
      outputs.push({ where: `${where} daemon stderr`, text: d.stderr() });
    });
    return d;
  }

  /** A consumer's token request; the answer's access token when it got one. */
  async function consumerToken(p: Place, secret: string): Promise<{ status: number; token?: string }> {
    const answer = await socketCall(p.socket, 'GET', '/v1/accounts/main/token', { bearer: secret });
    return {
      status: answer.status,
      token: answer.status === 200 ? answer.json<{ access_token: string }>().access_token : undefined,
    };
  }

  /** PikPak accepts an access token the broker handed out (a consumer really can work). */
  async function consumerCanUseDrive(p: Place, secret: string): Promise<boolean> {
    for (let i = 0; i < 5; i++) {
      const { token } = await consumerToken(p, secret);
      if (!token) continue;
      const res = await fetch(`${emulator.url}/drive/v1/about`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status === 200) return true;
    }
    return false;
  }

  /**
   * A moment when no refresh is due for a while, so that kill -9 cannot land between PikPak's
   * rotation and the keychain write (that window is the crash suite's subject, not this one's):
   * one rotation with a 30 s token, saved. The TTL goes back to 1 s for whatever follows.
   */
  async function quietMoment(p: Place): Promise<void> {
    emulator.configure({ accessTtlSeconds: 30 });
    await waitForStatus(
      p.socket,
      p.dataDir,
      (s) =>
        s.keychain.pending_writes === 0 &&
        s.accounts[0]?.state === 'healthy' &&
        Date.parse(s.accounts[0].expires_at ?? '') - Date.now() > 15_000,
      'a saved rotation with a 30 s token',
    );
  }

  it('no D-Bus session: status and daemon say the keychain is unavailable and tokens stay in memory; a login without the daemon changes nothing', async () => {
    const t0 = Date.now();
    const bare = await mkdtemp(join(tmpdir(), 'pkb-kf-nobus-'));
    dirs.push(bare);
    const p: Place = {
      ...(await place('nobus-data', {})),
      env: {
        ...noSessionEnv(bare),
        XDG_DATA_HOME: join(bare, '.local', 'share'),
        XDG_CONFIG_HOME: join(bare, '.config'),
        XDG_CACHE_HOME: join(bare, '.cache'),
      },
    };
    const user = USERS.nobus;

    const [offline, refused] = await Promise.all([
      cli('nobus status (offline)', p, ['status']),
      cli(
        'nobus login (offline)',
        p,
        ['login', '--account', 'main', '--username', user, '--password-stdin', '--remember-password'],
        PASSWORDS.nobus,
      ),
    ]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /^Keychain: .* — UNAVAILABLE: No D-Bus session bus/m);
    assert.match(offline.stdout, /keeps tokens in memory only/);

    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /keychain is unavailable/i);
    assert.match(refused.stderr, /No D-Bus session bus/);
    assert.match(refused.stderr, /Nothing was changed/);
    assert.equal(lineage(user).length, 0, 'PikPak was not asked');
    const settings = await readFile(join(p.dataDir, 'settings.json'), 'utf8').catch(() => undefined);
    assert.ok(
      settings === undefined || (JSON.parse(settings) as { accounts: unknown[] }).accounts.length === 0,
      'no account was recorded',
    );

    const d = await daemon('nobus first', p);
    let stopped;
    try {
      const atStart = await liveStatus(p.socket, p.dataDir);
      assert.equal(
        atStart.keychain.available,
        false,
        'a daemon without D-Bus must not report the keychain available',
      );
      assert.match(atStart.keychain.problem ?? '', /No D-Bus session bus/);
      // The status answers as soon as the keychain's first answer is in; the daemon's warning goes
      // to another pipe and may arrive a moment later.
      await waitFor(
        () => /keychain is unavailable: tokens are kept in memory only/.test(d.stderr()),
        'the daemon warns that the keychain is unavailable',
        5_000,
      );

      loginThroughDaemonWithoutKeychain = await cli(
        'nobus login (daemon)',
        p,
        ['login', '--account', 'main', '--username', user, '--password-stdin', '--remember-password'],
        PASSWORDS.nobus,
      );
      assert.equal(signins(user), 1, loginThroughDaemonWithoutKeychain.stderr);
      const unsaved = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.accounts[0]?.state_detail.unsaved === true,
        'the account healthy but unsaved',
      );
      assert.equal(unsaved.health, 'warn');
      assert.equal(unsaved.keychain.available, false);
      assert.ok(unsaved.keychain.pending_writes >= 1);
      assert.match(unsaved.accounts[0]!.description, /not yet saved to the keychain/);

      const before = refreshes(user);
      await waitFor(() => refreshes(user) >= before + 2, 'rotations in memory', 30_000);
      const secret = await addClient(p.socket, p.dataDir, 'nobus-consumer');
      assert.ok(await consumerCanUseDrive(p, secret), 'a consumer gets working tokens from memory');

      const text = await cli('nobus status (daemon)', p, ['status']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Keychain: .* — UNAVAILABLE: No D-Bus session bus/m);
      assert.match(text.stdout, /secret\(s\) waiting to be saved/);
      // The account line is a snapshot: healthy-but-unsaved, or in the middle of a rotation.
      assert.match(text.stdout, /^main .*(not yet saved to the keychain|refreshing…)/m);
    } finally {
      stopped = await d.stop();
    }
    assert.equal(stopped.code, 0, d.stderr().slice(-2000));
    // The token cannot survive the process; the daemon must say so rather than stop quietly.
    assert.match(d.stderr(), /could not be saved to the keychain and is lost/);

    // Started again, still without D-Bus: it waits for the keychain and spends nothing.
    const spent = lineage(user).length;
    const again = await daemon('nobus second', p);
    try {
      const waiting = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.accounts[0]?.state === 'retrying',
        'the account waiting for the keychain',
      );
      assert.match(waiting.accounts[0]!.description, /keychain unavailable/);
      assert.equal(waiting.keychain.available, false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(lineage(user).length, spent, 'no refresh without a token');
    } finally {
      await again.stop();
    }
    assertNoTokenTwice(user);
    figures.noSession = { ms: Date.now() - t0, rotationsInMemory: refreshes(user) };
  });

  it('login through a daemon that cannot reach the keychain says the token is in memory only', () => {
    const result = loginThroughDaemonWithoutKeychain;
    assert.ok(result, 'the no-D-Bus scenario ran');
    assert.doesNotMatch(result.stdout, /is in the keychain/);
    assert.match(`${result.stdout}${result.stderr}`, /keychain/i);
    assert.match(`${result.stdout}${result.stderr}`, /memory/i);
  });

  let locked: Place | undefined;
  let lockedDaemon: DaemonProcess | undefined;

  it('collection locked while the daemon runs: tokens keep coming from memory, status warns, the newest token is saved on unlock, kill -9 resumes from the keychain', async () => {
    const t0 = Date.now();
    const p = (locked = await place('locked', { ...keyring.env }));
    const user = USERS.locked;
    const login = await cli(
      'locked login',
      p,
      ['login', '--account', 'main', '--username', user, '--password-stdin'],
      PASSWORDS.locked,
    );
    assert.equal(login.code, 0, login.stderr);

    let d = await daemon('locked first', p);
    try {
      const secret = await addClient(p.socket, p.dataDir, 'locked-consumer', ['main']);
      await waitFor(() => refreshes(user) >= 3, 'rotations before the lock');
      await keyring.lock();
      const lockedAt = Date.now();
      const before = refreshes(user);
      await waitFor(() => refreshes(user) >= before + 1, 'a rotation while locked', 30_000);

      // Every request is answered, and the tokens handed out keep rotating.
      const tokens: string[] = [];
      let requests = 0;
      for (let i = 0; i < 3; i++) {
        let token: string | undefined;
        await waitFor(
          async () => {
            const got = await consumerToken(p, secret);
            requests += 1;
            assert.equal(got.status, 200, 'a consumer gets a token while the keychain is locked');
            token = got.token;
            return !tokens.includes(token!);
          },
          'a new access token',
          15_000,
        );
        tokens.push(token!);
      }
      assert.ok(await consumerCanUseDrive(p, secret), 'and PikPak accepts them');

      const rotationsWhileLocked = refreshes(user) - before;
      const json = await cli('locked status --json', p, ['status', '--json']);
      assert.equal(json.code, 0, json.stderr);
      const status = JSON.parse(json.stdout) as {
        health: string;
        keychain: { available: boolean; problem: string; pending_writes: number };
        accounts: { health: string; state: string }[];
      };
      assert.equal(status.keychain.available, false);
      assert.match(status.keychain.problem, /locked/i);
      assert.match(status.keychain.problem, /in memory only/);
      assert.ok(status.keychain.pending_writes >= 1);
      // A snapshot: warn, or busy in the middle of a rotation (TTL 1 s); never ok.
      const snapshot = status.accounts[0]!;
      assert.ok(
        snapshot.health === 'warn' || (snapshot.health === 'busy' && snapshot.state === 'refreshing'),
        JSON.stringify(snapshot),
      );
      const between = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.accounts[0]?.state === 'healthy',
        'the account between two rotations',
      );
      assert.equal(between.health, 'warn');
      assert.equal(between.accounts[0]!.state_detail.unsaved, true);
      assert.match(between.accounts[0]!.description, /not yet saved to the keychain/);

      await keyring.unlock();
      const recovered = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.keychain.available && s.keychain.pending_writes === 0 && s.health === 'ok',
        'the keychain back, nothing pending, health ok',
      );
      assert.equal(recovered.accounts[0]!.state_detail.unsaved ?? false, false);

      await quietMoment(p);
      const stored = await keychainRefreshToken(keyring.env, SERVICE, 'main');
      const newest = lineage(user).at(-1)!;
      assert.equal(stored && fingerprint(stored), newest.id, 'the keychain holds the newest refresh token');
      assert.equal(newest.usedAt, undefined);
      assert.ok(newest.issuedAt > lockedAt);

      const signinsBefore = signins(user);
      await d.stop('SIGKILL');
      emulator.configure({ accessTtlSeconds: 1 });
      const afterKill = refreshes(user);
      d = lockedDaemon = await daemon('locked restarted', p);
      await waitFor(() => refreshes(user) >= afterKill + 3, 'the restarted daemon refreshing', 30_000);
      assert.equal(signins(user), signinsBefore, 'resumed from the keychain, no sign-in');
      assert.equal((await liveStatus(p.socket, p.dataDir)).keychain.available, true);
      assertNoTokenTwice(user);
      figures.locked = {
        ms: Date.now() - t0,
        rotationsWhileLocked,
        distinctAccessTokensServed: tokens.length,
        requests,
      };
    } catch (error) {
      await d.stop('SIGKILL');
      lockedDaemon = undefined;
      throw error;
    } finally {
      emulator.configure({ accessTtlSeconds: 1 });
      if (await keyring.isLocked().catch(() => false)) await keyring.unlock();
    }
  });

  it('daemon stopped while the collection is locked: it says the newest token is lost, and the restart never presents the spent token', async () => {
    const t0 = Date.now();
    assert.ok(locked && lockedDaemon, 'the locked scenario left its daemon running');
    const p = locked;
    const d = lockedDaemon;
    lockedDaemon = undefined;
    const user = USERS.locked;
    try {
      await keyring.lock();
      const before = refreshes(user);
      await waitFor(() => refreshes(user) >= before + 2, 'rotations while locked', 30_000);
      const stopped = await d.stop();
      assert.equal(stopped.code, 0, d.stderr().slice(-2000));
      assert.match(d.stderr(), /could not be saved to the keychain and is lost/);
    } finally {
      await keyring.unlock();
    }
    const keychainToken = await keychainRefreshToken(keyring.env, SERVICE, 'main');
    const kept = lineage(user).find((e) => keychainToken !== null && e.id === fingerprint(keychainToken));
    assert.ok(kept, 'the keychain holds a token PikPak issued');
    assert.notEqual(kept.usedAt, undefined, 'and PikPak has already rotated it (the newest one is lost)');
    // Before any restart, offline status already says what happened, in words.
    const offline = await cli('stopped-while-locked offline status', p, ['status']);
    assert.match(
      offline.stdout,
      /the newest refresh token was only in memory because the keychain was locked or unavailable when the broker stopped/,
      offline.stdout + offline.stderr,
    );

    const restarted = await daemon('stopped-while-locked restart', p);
    try {
      const status = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.accounts[0]?.state === 'reauth-required',
        'the account to need a new sign-in',
      );
      assert.equal(status.health, 'error');
      assert.match(status.accounts[0]!.description, /re-login needed/);
      // It says why: the keychain, not a rotation cut short.
      assert.equal(status.accounts[0]!.state_detail.reason, 'unsaved-when-stopped');
      assert.match(
        status.accounts[0]!.description,
        /the newest refresh token was only in memory because the keychain was locked or unavailable when the broker stopped/i,
      );
      assert.doesNotMatch(status.accounts[0]!.description, /rotating/);
      assert.equal(
        lineage(user).find((e) => e.id === kept.id)!.presentations,
        1,
        'the spent token in the keychain was not presented again',
      );
      assertNoTokenTwice(user);

      const text = await cli('stopped-while-locked status', p, ['status']);
      assert.equal(text.code, 3, text.stderr);
      assert.match(text.stdout, /re-login needed/);
      assert.match(text.stdout, /only in memory because the keychain was locked/);

      const relogin = await cli(
        'stopped-while-locked login',
        p,
        ['login', '--account', 'main', '--username', user, '--password-stdin'],
        PASSWORDS.locked,
      );
      assert.equal(relogin.code, 0, relogin.stderr);
      const base = refreshes(user);
      await waitFor(() => refreshes(user) >= base + 2, 'rotations after the new sign-in', 30_000);
      assertNoTokenTwice(user);
    } finally {
      await restarted.stop();
    }
    figures.stoppedWhileLocked = { ms: Date.now() - t0 };
  });

  it('a keychain write that fails mid-rotation (Secret Service hung, then gone): status says so, tokens keep coming, the token is saved when it returns, nothing lost', async () => {
    const t0 = Date.now();
    const p = await place('midrot', { ...keyring.env });
    const user = USERS.midrot;
    const login = await cli(
      'midrot login',
      p,
      ['login', '--account', 'main', '--username', user, '--password-stdin'],
      PASSWORDS.midrot,
    );
    assert.equal(login.code, 0, login.stderr);
    let d = await daemon('midrot wrapper', p, { wrapper: true, env: { PKB_TEST_KEYCHAIN_RETRY_MS: '1000' } });
    let stoppedPid: number | undefined;
    try {
      const secret = await addClient(p.socket, p.dataDir, 'midrot-consumer', ['main']);
      await waitFor(() => refreshes(user) >= 2, 'rotations before the fault');

      // 1. PikPak rotates, its answer is held back 1.5 s, and meanwhile the Secret Service hangs.
      emulator.setFault({ endpoint: 'token', kind: 'delay', ms: 1500, timing: 'after', count: 1 });
      let issued = lineage(user).length;
      await waitFor(() => lineage(user).length > issued, 'the delayed rotation at PikPak', 15_000);
      stoppedPid = await keyring.secretServicePid();
      assert.ok(stoppedPid, 'the Secret Service runs');
      process.kill(stoppedPid, 'SIGSTOP');
      const hung = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => !s.keychain.available && s.keychain.pending_writes >= 1,
        'the failed write to show',
        45_000,
      );
      assert.match(hung.keychain.problem ?? '', /keychain failed|did not receive a reply/i);
      assert.match(hung.keychain.problem ?? '', /in memory only/);
      assert.ok(['warn', 'busy'].includes(hung.health), hung.health);
      const served = await consumerToken(p, secret);
      assert.equal(served.status, 200, 'a consumer gets a token while the keychain hangs');
      process.kill(stoppedPid, 'SIGCONT');
      stoppedPid = undefined;
      await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.keychain.available && s.keychain.pending_writes === 0,
        'the keychain to take the token after SIGCONT',
        45_000,
      );
      assertNoTokenTwice(user);

      // 2. Again, but the Secret Service goes away, and PikPak fails from then on: only the
      //    keeper's keychain retry can save the token, with no rotation to help.
      emulator.setFault({ endpoint: 'token', kind: 'delay', ms: 2500, timing: 'after', count: 1 });
      issued = lineage(user).length;
      await waitFor(() => lineage(user).length > issued, 'the delayed rotation at PikPak', 15_000);
      const inFlight = lineage(user).at(-1)!;
      emulator.setFault({ endpoint: 'token', kind: 'status', status: 503 });
      const secretService = await keyring.secretServicePid();
      assert.ok(secretService, 'the Secret Service runs');
      process.kill(secretService, 'SIGKILL');
      await waitFor(async () => (await keyring.secretServicePid()) === undefined, 'the Secret Service gone');
      const gone = await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => !s.keychain.available && s.keychain.pending_writes >= 1 && s.accounts[0]?.state === 'retrying',
        'the failed write to show, PikPak failing',
      );
      assert.match(gone.keychain.problem ?? '', /No Secret Service on D-Bus/);
      assert.match(gone.keychain.problem ?? '', /in memory only/);
      assert.match(gone.accounts[0]!.description, /^retrying in/);
      const issuedWhileGone = lineage(user).length;

      await keyring.unlock(); // starts a Secret Service again on the same bus
      await waitForStatus(
        p.socket,
        p.dataDir,
        (s) => s.keychain.available && s.keychain.pending_writes === 0,
        'the retry timer to save the token',
      );
      assert.equal(lineage(user).length, issuedWhileGone, 'saved without any rotation');
      const stored = await keychainRefreshToken(keyring.env, SERVICE, 'main');
      assert.equal(
        stored && fingerprint(stored),
        inFlight.id,
        'the token of the failed write is in the keychain',
      );
      assert.equal(lineage(user).find((e) => e.id === inFlight.id)!.presentations, 0, 'and still unspent');

      // PikPak back: the saved token is spent once, then kill -9 at a quiet moment and restart.
      emulator.clearFaults();
      emulator.configure({ accessTtlSeconds: 30 });
      const refreshed = await socketCall(p.socket, 'POST', '/v1/accounts/main/refresh', {
        bearer: await adminToken(p.dataDir),
      });
      assert.equal(refreshed.status, 200, refreshed.text);
      await quietMoment(p);
      assert.equal(lineage(user).find((e) => e.id === inFlight.id)!.presentations, 1);
      const signinsBefore = signins(user);
      await d.stop('SIGKILL');
      emulator.configure({ accessTtlSeconds: 1 });
      const afterKill = refreshes(user);
      d = await daemon('midrot restarted', p);
      await waitFor(() => refreshes(user) >= afterKill + 3, 'the restarted daemon refreshing', 30_000);
      assert.equal(signins(user), signinsBefore, 'resumed from the keychain, no sign-in');
      assertNoTokenTwice(user);
      figures.midRotation = { ms: Date.now() - t0, rotations: refreshes(user) };
    } finally {
      if (stoppedPid) process.kill(stoppedPid, 'SIGCONT');
      emulator.clearFaults();
      emulator.configure({ accessTtlSeconds: 1 });
      await d.stop();
    }
  });

  it('no refresh token or password was ever written in plaintext: data folders, HOME, XDG folders, new /tmp files, every output', async () => {
    const canaries: Canary[] = [
      ...recording.refreshTokens().map((value) => ({ kind: 'refresh token', value })),
      ...Object.entries(PASSWORDS).map(([key, value]) => ({ kind: `password (${key})`, value })),
      // Positive controls: a username is in the login output; a planted file is found.
      { kind: `${CONTROL}: username`, value: USERS.locked },
      await plantControl(keyring.dir),
    ];
    const roots = [...new Set([...dirs, keyring.dir])];
    const own = await scanFiles(roots, canaries);
    const fresh = (await newTmpPaths(tmpBefore)).filter((path) => !roots.includes(path));
    const shared = await scanFiles(fresh, canaries, { modifiedSince: startedAt });
    const inOutputs: Finding[] = outputs.flatMap((o) => findCanaries(o.text, canaries, o.where));
    const { controls, leaks: findings } = splitControls([...own.findings, ...shared.findings, ...inOutputs]);
    figures.plaintextScan = {
      canaries: canaries.length,
      refreshTokens: canaries.filter((c) => c.kind === 'refresh token').length,
      files: own.files + shared.files,
      bytes: own.bytes + shared.bytes,
      outputs: outputs.length,
      findings: findings.length,
      controlsFound: controls.length,
    };
    await writeReport('keychain-faults', { ...figures, totalMs: Date.now() - startedAt });
    assert.ok(canaries.length > 20, 'the scan had canaries to look for');
    assert.ok(own.files > 5, 'the scan saw the files');
    assertCleanScan(findings, controls, (where) => where.startsWith('locked login'), 'the login output');
  });
});
