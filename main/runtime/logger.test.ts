import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import { createLogger } from './logger.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logger', () => {
  for (const format of ['json', 'pretty'] as const) {
    it(`never prints secrets (${format})`, async () => {
      const out = capture();
      const log = createLogger({ level: 'debug', format, destination: out.stream });
      const canaries = [
        'CANARY-refresh-1f2e',
        'CANARY-password-9a8b',
        'CANARY-secret-7c6d',
        'CANARY-access-5e4f',
      ];
      log.info({ token: new Secret(canaries[0]!) }, 'a Secret field');
      log.info({ password: canaries[1], client_secret: canaries[2] }, 'plain strings under secret keys');
      log.warn({ account: 'a', nested: { refreshToken: canaries[0], accessToken: canaries[3] } }, 'nested');
      log.error({ headers: { authorization: `Bearer ${canaries[3]}` } }, 'headers');
      log.debug({ error: { message: `${new Secret(canaries[1]!)}` } }, 'interpolated');
      await new Promise((r) => setImmediate(r));
      const text = out.text();
      assert.match(text, /a Secret field/);
      assert.match(text, /nested/);
      for (const canary of canaries) assert.ok(!text.includes(canary), `${canary} leaked: ${text}`);
      assert.match(text, /\[redacted\]/);
    });
  }

  it('writes one JSON object per line in json format', async () => {
    const out = capture();
    const log = createLogger({ level: 'info', format: 'json', destination: out.stream });
    log.info({ account: 'main' }, 'hello');
    log.debug({}, 'hidden at info level');
    await new Promise((r) => setImmediate(r));
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.msg, 'hello');
    assert.equal(entry.account, 'main');
    assert.equal(entry.level, 30);
  });
});
