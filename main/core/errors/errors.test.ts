import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BrokerError,
  InsecureDirectoryError,
  KEYCHAIN_UNAVAILABLE_REASONS,
  KeychainUnavailableError,
  LockHeldError,
  SettingsCorruptError,
} from './index.js';

test('every error is a BrokerError with a stable code and its own name', () => {
  const errors: Array<[BrokerError, string, string]> = [
    [new KeychainUnavailableError('locked'), 'keychain_unavailable', 'KeychainUnavailableError'],
    [
      new SettingsCorruptError('/d/settings.json', '/d/settings.json.corrupt-x', 'not valid JSON'),
      'settings_corrupt',
      'SettingsCorruptError',
    ],
    [
      new LockHeldError('/d/broker.lock', { pid: 42, hostname: 'h', startedAt: 0, command: 'daemon' }),
      'lock_held',
      'LockHeldError',
    ],
    [new InsecureDirectoryError('/d', 'foreign-owner', 7), 'insecure_directory', 'InsecureDirectoryError'],
  ];
  for (const [error, code, name] of errors) {
    assert.ok(error instanceof BrokerError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(error.name, name);
    assert.ok(error.message.length > 20);
  }
});

test('KeychainUnavailableError: one piece of advice per reason, the platform detail appended', () => {
  const messages = new Set(
    KEYCHAIN_UNAVAILABLE_REASONS.map((reason) => new KeychainUnavailableError(reason).message),
  );
  assert.equal(messages.size, 4);
  const noSession = new KeychainUnavailableError('no-session');
  assert.equal(
    noSession.message,
    'No Secret Service on D-Bus: install/start gnome-keyring or KeePassXC; the broker keeps tokens in memory only until it is available',
  );
  const detailed = new KeychainUnavailableError('failed', {
    detail: 'Platform failure: x',
    cause: new Error('x'),
  });
  assert.match(detailed.message, /\(Platform failure: x\)$/);
  assert.equal(detailed.detail, 'Platform failure: x');
  assert.ok(detailed.cause instanceof Error);
  assert.equal(new KeychainUnavailableError('denied', { message: 'custom' }).message, 'custom');
});

test('SettingsCorruptError names both paths and the reason; copes with a failed copy', () => {
  const error = new SettingsCorruptError(
    '/d/settings.json',
    '/d/settings.json.corrupt-1',
    'accounts.0.platform: bad',
  );
  assert.match(error.message, /\/d\/settings\.json cannot be used \(accounts\.0\.platform: bad\)/);
  assert.match(error.message, /a copy is kept at \/d\/settings\.json\.corrupt-1/);
  const noCopy = new SettingsCorruptError('/d/settings.json', undefined, 'not valid JSON');
  assert.equal(noCopy.backupPath, undefined);
  assert.match(noCopy.message, /no copy could be made; the file is untouched/);
});

test('LockHeldError describes the holder; other host and half-written locks say so', () => {
  const holder = { pid: 4242, hostname: 'box', startedAt: Date.UTC(2026, 0, 1), command: 'tray' };
  const local = new LockHeldError('/d/broker.lock', holder, { localHostname: 'box' });
  assert.match(local.message, /pid 4242 on box \(tray, since 2026-01-01T00:00:00\.000Z\)/);
  assert.match(local.message, /stop it first/);
  const remote = new LockHeldError('/d/broker.lock', holder, { localHostname: 'other' });
  assert.match(remote.message, /shared with another machine/);
  const starting = new LockHeldError('/d/broker.lock', undefined);
  assert.equal(starting.holder, undefined);
  assert.match(starting.message, /is starting/);
});
