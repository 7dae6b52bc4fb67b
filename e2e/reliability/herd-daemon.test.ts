/**
 * Issue 14, "Herd": the real daemon (the CLI in a child process, shipped limits, `--listen`), a
 * private keychain and the emulator. 1000 consumers on the socket and 1000 on TCP report the same
 * rejected access token at once, each on a connection of its own: every one is answered 200,
 * PikPak sees exactly one refresh, no connection is reset or refused, and the daemon logs no
 * connection-limit line.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { call, type Target } from '../../main/service/testing/http-client.js';
import {
  ACCOUNT,
  addClient,
  startDaemon,
  startSession,
  type RunningDaemon,
  type Session,
} from './hostile-daemon.js';

const HERD = 1000;

interface Outcome {
  readonly status: number;
  readonly token?: string;
  readonly error?: string;
}

/** One POST on a connection of its own; a failed connection is an outcome, not a throw. */
function reportRejected(target: Target, secret: string, rejected: string): Promise<Outcome> {
  const body = JSON.stringify({ access_token: rejected });
  return new Promise((resolve) => {
    const req = request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
        method: 'POST',
        path: `/v1/accounts/${ACCOUNT}/token/rejected`,
        headers: {
          host: 'localhost',
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let token: string | undefined;
          try {
            token = (JSON.parse(text) as { access_token?: string }).access_token;
          } catch {
            token = undefined;
          }
          resolve({ status: res.statusCode ?? 0, ...(token ? { token } : {}) });
        });
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code ?? e.message }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });
}

const sessionResult = await startSession('pkb-herd-test');
const skip = 'skipped' in sessionResult ? `herd against the daemon: ${sessionResult.skipped}` : false;

describe('a herd against the shipped daemon', { skip, timeout: 180_000 }, () => {
  const session = sessionResult as Session;
  let daemon: RunningDaemon;
  let secret: string;
  before(async () => {
    daemon = await startDaemon(session, { listen: true });
    secret = await addClient(session, daemon.socketPath, 'herd');
  });
  after(async () => {
    const result = await daemon?.stop();
    await session.stop();
    assert.equal(result?.code, 0, `daemon exit: ${result?.stderr.slice(-4000)}`);
  });

  it(`${HERD} on the socket and ${HERD} on TCP report the same rejected token: all 200, one refresh, no reset`, async () => {
    // A rejection within 10 s of a token's arrival is not believed (keeper's rejectCooldownMs);
    // let the token the daemon started with grow older than that.
    await new Promise((r) => setTimeout(r, 10_500));
    const socket: Target = { socketPath: daemon.socketPath };
    const tcp: Target = { host: '127.0.0.1', port: daemon.tcpPort! };
    const current = await call(socket, `/v1/accounts/${ACCOUNT}/token`, { bearer: secret });
    assert.equal(current.status, 200, current.text);
    const old = current.json.access_token as string;
    // A slow PikPak keeps the refresh in flight while the herd arrives.
    session.emulator.setFault({ endpoint: 'token', kind: 'delay', ms: 500, count: 1 });
    const before = session.emulator.stats().refreshes;

    const outcomes = await Promise.all([
      ...Array.from({ length: HERD }, () => reportRejected(socket, secret, old)),
      ...Array.from({ length: HERD }, () => reportRejected(tcp, secret, old)),
    ]);

    const failed = outcomes.filter((o) => o.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${outcomes.length} not answered 200`);
    assert.equal(session.emulator.stats().refreshes - before, 1, 'exactly one upstream refresh');
    // Reports that arrive while the refresh is in flight get the still-valid current token back
    // (the keeper's rule, main/core/keeper.ts reportRejected); the rest get the new one.
    const tokens = new Set(outcomes.map((o) => o.token));
    assert.ok(tokens.size <= 2, `${tokens.size} distinct tokens`);
    assert.ok(
      [...tokens].some((t) => t !== old),
      'the new token went out',
    );
    assert.doesNotMatch(daemon.stderr(), /connection limit reached/);
    assert.equal(daemon.exited(), undefined);
  });
});
