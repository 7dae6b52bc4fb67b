import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRIDGE_BUDGET_MS, benchBridge } from './bridge.js';

describe('bridge benchmark', () => {
  it(`the bridge adds < ${BRIDGE_BUDGET_MS} ms (p50) per proxied call, tunnelled or forwarded`, async () => {
    const result = await benchBridge({ calls: 300, warmup: 50 });
    console.log(JSON.stringify(result));
    assert.ok(
      result.tunnelled.addedP50Ms < BRIDGE_BUDGET_MS,
      `tunnelled: +${result.tunnelled.addedP50Ms} ms`,
    );
    assert.ok(
      result.forwarded.addedP50Ms < BRIDGE_BUDGET_MS,
      `forwarded: +${result.forwarded.addedP50Ms} ms`,
    );
    assert.ok(
      result.answered.viaBridge.p50Ms < BRIDGE_BUDGET_MS,
      `answered: ${result.answered.viaBridge.p50Ms} ms`,
    );
    assert.equal(result.withinBudget, true);
  });
});
