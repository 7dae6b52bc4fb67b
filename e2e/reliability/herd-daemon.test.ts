/**
 * Issue 14, "Herd": the real daemon (the CLI in a child process, shipped limits, `--listen`), a
 * private keychain and the emulator. 1000 consumers on the socket and 1000 on TCP report the same
 * rejected access token at once, each on a connection of its own: every one is answered 200 with
 * the one new token, PikPak sees exactly one refresh, no connection is reset or refused, the
 * rotated token reaches the keychain, and the daemon logs no connection-limit line.
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
import { runKeyringChild } from '../support/keyring-session.js';

const HERD = 1000;
const SERVICE = 'pkb-herd-test';

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

/** The account's refresh token as the private keychain holds it (read by another process). */
async function storedRefreshToken(session: Session): Promise<string | undefined> {
  const [outcome] = await runKeyringChild(session.keyring.env, {
    service: SERVICE,
    ops: [{ op: 'get', account: ACCOUNT, kind: 'refresh-token' }],
  });
  assert.ok(outcome?.ok, JSON.stringify(outcome));
  return outcome.value ?? undefined;
}

const sessionResult = await startSession(SERVICE);
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
    const storedBefore = await storedRefreshToken(session);
    assert.ok(storedBefore, 'the keychain holds a refresh token');

    const outcomes = await Promise.all([
      ...Array.from({ length: HERD }, () => reportRejected(socket, secret, old)),
      ...Array.from({ length: HERD }, () => reportRejected(tcp, secret, old)),
    ]);

    const failed = outcomes.filter((o) => o.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${outcomes.length} not answered 200`);
    assert.equal(session.emulator.stats().refreshes - before, 1, 'exactly one upstream refresh');
    // Every report waits for the one refresh (and its keychain write, while ~2000 connections are
    // open: the keychain host process keeps libdbus clear of descriptors >= 1024) and gets its token.
    const tokens = new Set(outcomes.map((o) => o.token));
    const stale = outcomes.filter((o) => o.token === old).length;
    assert.equal(stale, 0, `${stale} of ${outcomes.length} got the rejected token back`);
    assert.equal(tokens.size, 1, `${tokens.size} distinct tokens`);
    assert.ok(!tokens.has(undefined), 'every answer carries a token');
    const storedAfter = await storedRefreshToken(session);
    assert.ok(storedAfter && storedAfter !== storedBefore, 'the rotated refresh token is in the keychain');
    assert.doesNotMatch(daemon.stderr(), /connection limit reached/);
    assert.equal(daemon.exited(), undefined);
  });
});
