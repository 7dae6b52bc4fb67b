import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PikPakRejectedError, RateLimitedError, TransientError } from '../pikpak/errors/index.js';
import type { RefreshIntentState } from './ports.js';
import { describeIntentState, intentStateAfter, spentAfterRestart } from './refresh-intent.js';

describe('refresh intent: what a failed call proves', () => {
  const cases: [string, unknown, RefreshIntentState][] = [
    ['a 5xx', new TransientError('server', 'HTTP 503'), 'answered-transient'],
    ['a 429', new RateLimitedError('HTTP 429'), 'answered-transient'],
    [
      'another PikPak error body',
      new PikPakRejectedError('invalid_request', 'rejected'),
      'answered-transient',
    ],
    [
      'a refused connection',
      new TransientError('network', 'ECONNREFUSED', { delivery: 'not-sent' }),
      'not-sent',
    ],
    ['a reset', new TransientError('network', 'ECONNRESET'), 'outcome-unknown'],
    ['a timeout', new TransientError('timeout', 'no answer'), 'outcome-unknown'],
    ['an unreadable 2xx', new TransientError('bad-response', 'not JSON'), 'outcome-unknown'],
    ['something untyped (a bug, not an answer)', new Error('boom'), 'outcome-unknown'],
  ];
  for (const [name, error, state] of cases)
    it(`${name} → ${state}`, () => assert.equal(intentStateAfter(error), state));
});

describe('refresh intent: a restart', () => {
  it('sends the token only where the same run would have', () => {
    assert.equal(spentAfterRestart('not-sent'), undefined);
    assert.equal(spentAfterRestart('answered-transient'), undefined);
    assert.equal(spentAfterRestart('outcome-unknown'), undefined);
    assert.equal(spentAfterRestart('in-flight'), 'crash');
    assert.equal(spentAfterRestart('rotated-unsaved'), 'unsaved');
  });

  it('every state has its own words, none of them about PikPak rotating unless it may have', () => {
    const states: RefreshIntentState[] = [
      'in-flight',
      'not-sent',
      'answered-transient',
      'outcome-unknown',
      'rotated-unsaved',
    ];
    const words = states.map(describeIntentState);
    assert.equal(new Set(words).size, states.length);
    assert.match(describeIntentState('rotated-unsaved'), /only in memory because the keychain was locked/);
    assert.match(describeIntentState('in-flight'), /may have rotated/);
    for (const state of ['not-sent', 'answered-transient'] as const)
      assert.match(describeIntentState(state), /unspent and will be used/);
  });
});
