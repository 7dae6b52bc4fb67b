/**
 * Under a small open-file limit (a NAS, an old init system) the service lowers its bound and says
 * so, answers 503 over it, and survives running out of descriptors (EMFILE on accept) instead of
 * crashing; afterwards it serves again.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RESERVED_FDS } from './fd-limit.js';
import { call, type Target } from './testing/http-client.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LIMIT = 400;
const skip =
  process.platform !== 'linux'
    ? 'needs Linux (/proc/self/limits)'
    : spawnSync('bash', ['-c', `ulimit -n ${LIMIT}`]).status !== 0
      ? 'cannot lower the open-file limit here'
      : false;

describe('token service under a small open-file limit', { skip }, () => {
  let child: ChildProcess;
  let stderr = '';
  let tcp: Target;
  let socket: Target;
  let secret: string;
  before(async () => {
    child = spawn(
      'bash',
      [
        '-c',
        `ulimit -n ${LIMIT} && exec "${process.execPath}" --import tsx "${join(HERE, 'testing', 'fd-limit-child.ts')}"`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(HERE, '..', '..') },
    );
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    for (let i = 0; i < 300 && !out.includes('\n'); i++) await sleep(100);
    const info = JSON.parse(out) as { socketPath: string; port: number; secret: string };
    tcp = { host: '127.0.0.1', port: info.port };
    socket = { socketPath: info.socketPath };
    secret = info.secret;
  });
  after(async () => {
    child.stdin!.end();
    if (child.exitCode === null) await once(child, 'exit');
  });

  it('lowers the bound to fit and says what to raise', () => {
    const fitted = Math.floor((LIMIT - RESERVED_FDS) / 2);
    assert.match(
      stderr,
      new RegExp(`the open-file limit \\(${LIMIT}\\) allows only ${fitted} connections per listener`),
    );
    assert.match(stderr, /LimitNOFILE/);
  });

  it('1000 half-open connections at once: no crash (EMFILE), 503s where descriptors allow, served again after', async () => {
    const holders: Socket[] = [];
    const outcomes = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<string>((resolve) => {
            // Half-open: refused connections stay open on the service's side for their grace, so
            // the descriptors run out.
            const s = connect({ host: '127.0.0.1', port: tcp.port!, allowHalfOpen: true });
            holders.push(s);
            let text = '';
            s.on('data', (d: Buffer) => (text += d.toString('utf8')));
            s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
            s.on('close', () =>
              resolve(text.startsWith('HTTP/1.1 503 ') ? '503' : text ? 'other' : 'closed'),
            );
            setTimeout(() => resolve(text.startsWith('HTTP/1.1 503 ') ? '503' : 'held'), 3000);
          }),
      ),
    );
    for (const s of holders) s.destroy();
    const count = (k: string) => outcomes.filter((o) => o === k).length;
    assert.ok(
      count('503') > 0,
      `some were told 503: ${JSON.stringify(Object.fromEntries(outcomes.map((o) => [o, count(o)])))}`,
    );
    assert.equal(child.exitCode, null, `the service is still running: ${stderr.slice(-2000)}`);
    await sleep(1500); // the refused ones' grace
    for (const target of [tcp, socket]) {
      const res = await call(target, '/v1/accounts/main/token', { bearer: secret });
      assert.equal(res.status, 200, res.text);
    }
    assert.match(stderr, /connection limit reached/);
    // Past the last descriptor libuv accepts and closes what it cannot hold (there is no descriptor
    // to answer on); those see a close without an answer. Nothing else may happen to them.
    assert.equal(count('503') + count('held') + count('closed'), 1000, JSON.stringify(outcomes));
  });
});
