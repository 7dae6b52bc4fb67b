import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../core/broker.js';
import { healthy, reauthRequired, refreshing, signingIn } from '../../core/keeper-state.js';
import { FakeClock } from '../../core/testing/fake-clock.js';
import { captureLog } from '../../service/testing/service-rig.js';
import { watchBrokerForNotifications } from './broker-notifications.js';
import { NotifyCommand, type NotifyEvent } from './notify-command.js';
import { NotifyRateLimiter } from './rate-limiter.js';

describe('NotifyRateLimiter', () => {
  it('lets one notification per key through per interval, keys apart', async () => {
    const clock = new FakeClock();
    const limiter = new NotifyRateLimiter(clock, 60_000);
    assert.equal(limiter.allow('a\nreauth-required'), true);
    assert.equal(limiter.allow('a\nreauth-required'), false);
    assert.equal(limiter.allow('b\nreauth-required'), true, 'another account');
    assert.equal(limiter.allow('a\nrecovered'), true, 'another event');
    await clock.advance(59_999);
    assert.equal(limiter.allow('a\nreauth-required'), false);
    await clock.advance(1);
    assert.equal(limiter.allow('a\nreauth-required'), true);
    assert.equal(limiter.allow('a\nreauth-required'), false, 'the interval starts again');
  });
});

describe('watchBrokerForNotifications', () => {
  const states = () => {
    const broker = new EventEmitter();
    const seen = [] as NotifyEvent[];
    watchBrokerForNotifications(broker as unknown as Pick<Broker, 'on' | 'off'>, (e) => seen.push(e));
    return { broker, seen };
  };
  const reauth = reauthRequired({ reason: 'invalid-grant', since: 0, message: 'PikPak rejected it.' });

  it('tells reauth-required once, then recovered when the account is healthy again', () => {
    const { broker, seen } = states();
    const ok = healthy({ obtainedAt: 0, accessExpiresAt: 1, nextRefreshAt: 1 } as never);
    const at = (state: unknown, previous: unknown, health: string) =>
      broker.emit('account-state', { account: 'main', state, previous, health });
    at(ok, refreshing(0, undefined), 'ok');
    assert.equal(seen.length, 0, 'a healthy account that was never in trouble says nothing');
    at(reauth, refreshing(0, undefined), 'error');
    at(reauth, reauth, 'error');
    at(signingIn(0), reauth, 'busy');
    at(ok, signingIn(0), 'ok');
    at(ok, ok, 'ok');
    assert.deepEqual(
      seen.map((e) => [e.event, e.account]),
      [
        ['reauth-required', 'main'],
        ['recovered', 'main'],
      ],
    );
    assert.match(seen[0]!.message, /login --account main/);
    assert.match(seen[1]!.message, /healthy again \(it needed a new sign-in\)/);
  });

  it('tells recovered (only) when an account is healthy after an error', () => {
    const { broker, seen } = states();
    const ok = healthy({ obtainedAt: 0, accessExpiresAt: 1, nextRefreshAt: 1 } as never);
    const retrying = { type: 'retrying' } as never;
    broker.emit('account-state', { account: 'a', state: retrying, previous: ok, health: 'warn' });
    broker.emit('account-state', { account: 'a', state: ok, previous: retrying, health: 'ok' });
    assert.equal(seen.length, 0, 'a retry while the token was still valid is no news');
    broker.emit('account-state', { account: 'a', state: retrying, previous: ok, health: 'error' });
    broker.emit('account-state', { account: 'a', state: retrying, previous: retrying, health: 'error' });
    assert.equal(seen.length, 0, 'the error itself is not announced');
    broker.emit('account-state', { account: 'a', state: ok, previous: retrying, health: 'ok' });
    assert.deepEqual(
      seen.map((e) => [e.event, e.account]),
      [['recovered', 'a']],
    );
    assert.match(seen[0]!.message, /could not be reached/);
  });

  it('tells secret-store-unavailable once and recovered when it is back', () => {
    const { broker, seen } = states();
    broker.emit('keychain-status', { available: false, problem: 'locked', pendingWrites: 1 });
    broker.emit('keychain-status', { available: false, problem: 'locked', pendingWrites: 2 });
    broker.emit('keychain-status', { available: true, problem: undefined, pendingWrites: 0 });
    assert.deepEqual(
      seen.map((e) => [e.event, e.account]),
      [
        ['secret-store-unavailable', ''],
        ['recovered', ''],
      ],
    );
    assert.match(seen[0]!.message, /locked/);
  });
});

describe('NotifyCommand (a real /bin/sh)', () => {
  // The command is unref'd (it never delays the daemon's exit); the daemon holds the process open
  // itself, and so does this suite while it waits.
  let keepAlive: NodeJS.Timeout;
  before(() => (keepAlive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keepAlive));

  it('runs the command with the event in its environment, rate-limited per account and event', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-notify-'));
    const out = join(dir, 'out');
    const clock = new FakeClock();
    const notify = new NotifyCommand({
      command: `printf '%s|%s|%s\\n' "$PIKPAK_BROKER_EVENT" "$PIKPAK_BROKER_ACCOUNT" "$PIKPAK_BROKER_MESSAGE" >> '${out}'`,
      log: captureLog(),
      clock,
      minIntervalMs: 60_000,
    });
    try {
      notify.notify({ event: 'reauth-required', account: 'main', message: 'sign in "again"; $HOME' });
      notify.notify({ event: 'reauth-required', account: 'main', message: 'second' });
      notify.notify({ event: 'recovered', account: 'main', message: 'ok' });
      await notify.settled();
      await clock.advance(60_000);
      notify.notify({ event: 'reauth-required', account: 'main', message: 'third' });
      await notify.settled();
      const lines = (await readFile(out, 'utf8')).trim().split('\n').sort();
      assert.deepEqual(lines, [
        'reauth-required|main|sign in "again"; $HOME',
        'reauth-required|main|third',
        'recovered|main|ok',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never blocks the caller and kills a command that outlives its timeout', async () => {
    const log = captureLog();
    const notify = new NotifyCommand({ command: 'sleep 30', log, timeoutMs: 200 });
    const started = Date.now();
    notify.notify({ event: 'recovered', account: 'main', message: 'x' });
    assert.ok(Date.now() - started < 100, 'notify() returned at once');
    await notify.settled();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `killed after ${elapsed} ms`);
    assert.match(log.text(), /killed after/);
  });

  it('logs a failing command with its stderr, and never throws', async () => {
    const log = captureLog();
    const notify = new NotifyCommand({ command: 'echo boom >&2; exit 3', log });
    notify.notify({ event: 'recovered', account: 'main', message: 'x' });
    await notify.settled();
    const line = log.lines
      .map((l) => JSON.parse(l) as { msg?: string; code?: number; stderr?: string })
      .find((l) => l.msg === 'notify-command failed');
    assert.ok(line, log.text());
    assert.equal(line.code, 3);
    assert.match(String(line.stderr), /boom/);
  });
});
