import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { FakeClock } from '../core/testing/fake-clock.js';
import {
  ClientRequestError,
  ClientRequests,
  REQUEST_ID_PREFIX,
  type Decision,
  type Requester,
} from './client-requests.js';

class FakeRegistry {
  readonly clients = new Map<string, string[]>();
  readonly revoked: string[] = [];
  #n = 0;
  async add(name: string, accounts: readonly string[]): Promise<Secret> {
    if (this.clients.has(name)) throw new Error(`client "${name}" exists`);
    this.clients.set(name, [...accounts]);
    return new Secret(`pkb_secret-${++this.#n}`);
  }
  get(name: string) {
    const accounts = this.clients.get(name);
    return accounts ? { name, accounts, createdAt: 0, lastUsedAt: undefined } : undefined;
  }
  async revoke(name: string): Promise<void> {
    this.clients.delete(name);
    this.revoked.push(name);
  }
}

function setup(options: { maxPending?: number; maxPendingPerRequester?: number } = {}) {
  const clock = new FakeClock();
  const registry = new FakeRegistry();
  const lines: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: (o, m) => void lines.push(`${m} ${JSON.stringify(o)}`),
    warn: (o, m) => void lines.push(`${m} ${JSON.stringify(o)}`),
    error: (o, m) => void lines.push(`${m} ${JSON.stringify(o)}`),
  };
  const requests = new ClientRequests({
    clients: registry,
    accounts: () => ['main', 'nas'],
    clock,
    log,
    ttlMs: 10 * 60_000,
    pickupMs: 5 * 60_000,
    ...options,
  });
  const decisions: Decision[] = [];
  let changes = 0;
  requests.on('decided', (d) => decisions.push(d));
  requests.on('changed', () => changes++);
  return { clock, registry, requests, decisions, lines, changes: () => changes };
}

describe('client approval queue', () => {
  it('a request waits; the owner approves; the secret goes to the poller exactly once', async () => {
    const { requests, registry, decisions, changes } = setup();
    const submitted = requests.submit({ name: 'alist-nas', account: 'main' });
    assert.ok(submitted.requestId.reveal().startsWith(REQUEST_ID_PREFIX));
    assert.match(submitted.code, /^[A-HJ-NP-Z2-9]{4}$/);
    assert.equal(changes(), 1);
    const [pending] = requests.pending();
    assert.deepEqual(
      { name: pending!.name, account: pending!.account, code: pending!.code },
      { name: 'alist-nas', account: 'main', code: submitted.code },
    );
    assert.equal(requests.poll(submitted.requestId.reveal()).status, 'pending');

    await requests.approve(pending!.id);
    assert.deepEqual(registry.clients.get('alist-nas'), ['main'], 'the client exists, scoped to the account');
    assert.deepEqual(requests.pending(), []);
    assert.deepEqual(
      decisions.map((d) => d.decision),
      ['approved'],
    );

    const first = requests.poll(submitted.requestId.reveal());
    assert.equal(first.status, 'approved');
    assert.ok(first.status === 'approved' && first.secret.reveal() === 'pkb_secret-1');
    assert.deepEqual(first.status === 'approved' && first.accounts, ['main']);
    assert.deepEqual(requests.poll(submitted.requestId.reveal()), { status: 'unknown' }, 'delivered once');
  });

  it('deny: the poller learns it once (then the request is gone); no client is made', () => {
    const { requests, registry } = setup();
    const { requestId } = requests.submit({ name: 'curl', account: 'nas' });
    requests.deny(requests.pending()[0]!.id);
    assert.deepEqual(requests.poll(requestId.reveal()), { status: 'denied' });
    assert.deepEqual(requests.poll(requestId.reveal()), { status: 'unknown' });
    assert.equal(registry.clients.size, 0);
  });

  it('a request nobody decides expires', async () => {
    const { requests, clock, decisions } = setup();
    const { requestId } = requests.submit({ name: 'curl', account: 'nas' });
    await clock.advance(10 * 60_000);
    assert.deepEqual(requests.pending(), []);
    assert.deepEqual(
      decisions.map((d) => d.decision),
      ['expired'],
    );
    assert.deepEqual(requests.poll(requestId.reveal()), { status: 'expired' });
    await assert.rejects(requests.approve('whatever'), ClientRequestError);
  });

  it('an approved secret nobody collects is revoked again, so no orphan client remains', async () => {
    const { requests, clock, registry, decisions } = setup();
    const { requestId } = requests.submit({ name: 'alist', account: 'main' });
    await requests.approve(requests.pending()[0]!.id);
    assert.ok(registry.clients.has('alist'));
    await clock.advance(5 * 60_000);
    assert.equal(registry.clients.has('alist'), false);
    assert.deepEqual(registry.revoked, ['alist']);
    assert.deepEqual(
      decisions.map((d) => d.decision),
      ['approved', 'uncollected'],
    );
    assert.deepEqual(requests.poll(requestId.reveal()), { status: 'unknown' });
  });

  it('refuses malformed names and accounts, whatever the broker holds', () => {
    const { requests } = setup();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as ClientRequestError).code;
      }
      return 'accepted';
    };
    assert.equal(
      code(() => requests.submit({ name: '../x', account: 'main' })),
      'invalid_client',
    );
    assert.equal(
      code(() => requests.submit({ name: 'a', account: '' })),
      'invalid_client',
    );
    assert.equal(
      code(() => requests.submit({ name: 'a', account: 'x'.repeat(65) })),
      'invalid_client',
    );
    assert.deepEqual(requests.pending(), []);
  });

  it('no oracle: an unknown account, a taken name and a repeated name are answered like a good request', async () => {
    const { requests, registry, lines } = setup();
    await registry.add('taken', ['main']);
    const answers = [
      requests.submit({ name: 'fine', account: 'main' }),
      requests.submit({ name: 'a', account: 'nope' }),
      requests.submit({ name: 'taken', account: 'main' }),
      requests.submit({ name: 'fine', account: 'nas' }),
    ];
    // The same shape, each with its own id and code: nothing says which one can be granted.
    const shapes = answers.map((a) => Object.keys(a).sort().join(','));
    assert.deepEqual(new Set(shapes).size, 1);
    assert.equal(new Set(answers.map((a) => a.requestId.reveal())).size, 4);
    for (const a of answers) assert.equal(a.expiresAt, answers[0]!.expiresAt);

    // Only the owner learns why: in the list, and when approving.
    const byName = requests.pending().map((p) => [p.name, p.account, p.problem]);
    assert.deepEqual(byName, [
      ['fine', 'main', undefined],
      ['a', 'nope', 'There is no account named "nope".'],
      ['taken', 'main', 'A client named "taken" exists already.'],
      ['fine', 'nas', `"fine" was asked for already (code ${answers[0]!.code}).`],
    ]);
    const ids = requests.pending().map((p) => p.id);
    for (const id of ids.slice(1))
      await assert.rejects(requests.approve(id), (e: ClientRequestError) => e.code === 'cannot_approve');
    assert.deepEqual([...registry.clients.keys()], ['taken'], 'no client was made for them');
    await requests.approve(ids[0]!);
    assert.deepEqual(registry.clients.get('fine'), ['main']);
    assert.match(lines.join('\n'), /no account named \\"nope\\"/i, 'the log says why too');
  });

  it('bounds pending requests per requester and per pool; the owner is never limited', () => {
    const { requests } = setup({ maxPending: 3, maxPendingPerRequester: 2 });
    const tcp = (key: string): Requester => ({ pool: 'tcp', key, owner: false, describe: { via: 'tcp' } });
    const socket: Requester = { pool: 'socket', key: '9', owner: false, describe: { via: 'socket' } };
    const owner: Requester = { pool: 'socket', key: '10', owner: true, describe: { via: 'socket' } };
    const code = (name: string, who: Requester) => {
      try {
        requests.submit({ name, account: 'main' }, who);
        return 'accepted';
      } catch (error) {
        return (error as ClientRequestError).code;
      }
    };
    assert.equal(code('a1', tcp('1')), 'accepted');
    assert.equal(code('a2', tcp('1')), 'accepted');
    assert.equal(code('a3', tcp('1')), 'too_many_requests', 'one connection gets two');
    assert.equal(code('b1', tcp('2')), 'accepted');
    assert.equal(code('c1', tcp('3')), 'too_many_requests', 'the TCP pool is full');
    assert.equal(code('s1', socket), 'accepted', 'the socket has its own pool');
    for (let i = 0; i < 10; i++) assert.equal(code(`o${i}`, owner), 'accepted', 'the owner is never limited');
    assert.equal(code('s2', socket), 'accepted', "the owner's requests use nobody's budget");
    // A decision frees the place.
    requests.deny(requests.pending().find((p) => p.name === 'a1')!.id);
    assert.equal(code('a3', tcp('1')), 'accepted');
  });

  it('logs who asked', () => {
    const { requests, lines } = setup();
    requests.submit(
      { name: 'alist', account: 'main' },
      { pool: 'tcp', key: '7', owner: false, describe: { via: 'tcp', remotePort: 40123, connection: 7 } },
    );
    const line = lines.find((l) => l.startsWith('client "alist" asks'));
    assert.ok(line, lines.join('\n'));
    assert.match(line, /"via":"tcp","remotePort":40123,"connection":7/);
  });

  it('a wrong or guessed request id learns nothing', () => {
    const { requests } = setup();
    requests.submit({ name: 'alist', account: 'main' });
    const id = requests.pending()[0]!.id;
    assert.deepEqual(requests.poll(id), { status: 'unknown' }, 'the display id is not the request id');
    assert.deepEqual(requests.poll(`${REQUEST_ID_PREFIX}guess`), { status: 'unknown' });
  });

  it('never logs the request id or the secret', async () => {
    const { requests, lines } = setup();
    const { requestId } = requests.submit({ name: 'alist', account: 'main' });
    await requests.approve(requests.pending()[0]!.id);
    const delivered = requests.poll(requestId.reveal());
    const text = lines.join('\n');
    assert.ok(!text.includes(requestId.reveal()));
    assert.ok(delivered.status === 'approved' && !text.includes(delivered.secret.reveal()));
  });
});
