import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asError, errnoCode, errorMessage } from './error-message.js';

describe('errorMessage', () => {
  it('says what an Error, a string or an object holds', () => {
    assert.equal(errorMessage(new Error('boom')), 'boom');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage({ a: 1 }), '{"a":1}');
    assert.equal(errorMessage(undefined), 'undefined');
  });
  it('survives values JSON cannot describe', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.equal(errorMessage(circular), '[object Object]');
  });
});

describe('errnoCode', () => {
  it('reads a system error code and nothing else', () => {
    assert.equal(errnoCode(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT');
    assert.equal(errnoCode(new Error('x')), undefined);
    assert.equal(errnoCode({ code: 42 }), undefined);
    assert.equal(errnoCode(null), undefined);
  });
});

describe('asError', () => {
  it('keeps Errors and wraps anything else', () => {
    const e = new Error('same');
    assert.equal(asError(e), e);
    assert.equal(asError('text').message, 'text');
  });
});
