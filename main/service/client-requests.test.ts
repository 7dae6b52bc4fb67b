import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import { FakeClock } from '../core/testing/fake-clock.js';
import { ClientRequestError, ClientRequests, REQUEST_ID_PREFIX, type Decision } from './client-requests.js';

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

function setup(options: { maxPending?: number } = {}) {
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

  it('refuses bad names, unknown accounts, existing clients, duplicates and floods', async () => {
    const { requests, registry } = setup({ maxPending: 2 });
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
      code(() => requests.submit({ name: 'a', account: 'nope' })),
      'account_not_found',
    );
    await registry.add('taken', ['main']);
    assert.equal(
      code(() => requests.submit({ name: 'taken', account: 'main' })),
      'client_exists',
    );
    assert.equal(
      code(() => requests.submit({ name: 'one', account: 'main' })),
      'accepted',
    );
    assert.equal(
      code(() => requests.submit({ name: 'one', account: 'nas' })),
      'request_pending',
    );
    assert.equal(
      code(() => requests.submit({ name: 'two', account: '*' })),
      'accepted',
    );
    assert.equal(
      code(() => requests.submit({ name: 'three', account: 'main' })),
      'too_many_requests',
    );
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
