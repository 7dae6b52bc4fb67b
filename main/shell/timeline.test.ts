import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthy, reauthRequired, refreshing, retrying, signedOut } from '../core/keeper-state.js';
import { describeKeychain, describeRotation, describeTransition, Timeline } from './timeline.js';

const NOW = Date.UTC(2026, 0, 1);
const ok = healthy({
  accessExpiresAt: NOW + 7_200_000,
  refreshedAt: NOW,
  nextRefreshAt: NOW + 7_000_000,
  unsaved: false,
});

describe('timeline', () => {
  it('routine refreshes appear once, as the rotation', () => {
    assert.equal(
      describeTransition({ account: 'm', state: refreshing(NOW, NOW), previous: ok, health: 'busy' }, NOW),
      undefined,
    );
    assert.equal(
      describeTransition({ account: 'm', state: ok, previous: refreshing(NOW, NOW), health: 'ok' }, NOW),
      undefined,
    );
    assert.deepEqual(
      describeRotation({
        account: 'm',
        at: NOW,
        accessExpiresAt: NOW + 7_200_000,
        via: 'refresh',
        savedToKeychain: true,
      }),
      { account: 'm', health: undefined, text: 'Refreshed; token valid for 2h 0m' },
    );
    assert.match(
      describeRotation({
        account: 'm',
        at: NOW,
        accessExpiresAt: NOW + 60_000,
        via: 'sign-in',
        savedToKeychain: false,
      }).text,
      /^Signed in; token valid for 1m 0s \(refresh token not yet in the keychain\)$/,
    );
  });

  it('problems and recoveries are spelled out', () => {
    const failing = retrying({
      attempt: 2,
      nextAttemptAt: NOW + 30_000,
      lastError: { code: 'transient', message: 'PikPak answered 503' },
      accessExpiresAt: NOW + 60_000,
    });
    assert.equal(
      describeTransition(
        { account: 'm', state: failing, previous: refreshing(NOW, NOW), health: 'warn' },
        NOW,
      )?.text,
      'Refresh failed (PikPak answered 503); retry 2 in 30s',
    );
    assert.equal(
      describeTransition({ account: 'm', state: ok, previous: failing, health: 'ok' }, NOW)?.text,
      'Working again',
    );
    const dead = reauthRequired({ reason: 'invalid-grant', since: NOW, message: 'Rejected.' });
    assert.equal(
      describeTransition({ account: 'm', state: dead, previous: ok, health: 'error' }, NOW)?.text,
      'Sign-in needed: Rejected.',
    );
    assert.equal(
      describeTransition({ account: 'm', state: signedOut(), previous: ok, health: 'idle' }, NOW)?.text,
      'Signed out',
    );
    assert.match(
      describeKeychain({ available: false, problem: 'locked', pendingWrites: 1 }).text,
      /Keychain unavailable \(locked\)/,
    );
  });

  it('keeps the newest entries, newest first', () => {
    const timeline = new Timeline(3);
    for (let i = 1; i <= 5; i++)
      timeline.add(NOW + i, { account: undefined, health: undefined, text: `e${i}` });
    timeline.add(NOW, undefined);
    assert.deepEqual(
      timeline.entries().map((e) => e.text),
      ['e5', 'e4', 'e3'],
    );
  });
});
