/**
 * KeyringWorker against fake worker threads: one call at a time, deadlines, fail-fast while a call
 * is stuck, abandoned workers and their bound. The real worker thread is exercised against a
 * private gnome-keyring in keyring-secret-store.test.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { KeychainDeadlineError } from './keychain-deadline-error.js';
import { KeychainStalledError } from './keychain-stalled-error.js';
import { KeyringWorker, type WorkerLike } from './keyring-worker-client.js';
import type { KeyringWorkerReply, KeyringWorkerRequest } from './keyring-worker-protocol.js';

/** A worker that records requests and answers only when told to; `terminate` resolves on `exit()`. */
class FakeWorker extends EventEmitter implements WorkerLike {
  readonly received: KeyringWorkerRequest[] = [];
  terminated = false;
  unrefd = false;
  #exit: ((code: number) => void) | undefined;

  postMessage(message: KeyringWorkerRequest): void {
    this.received.push(message);
  }
  answer(value: string | null, index = this.received.length - 1): void {
    const reply: KeyringWorkerReply = { id: this.received[index]!.id, ok: true, value };
    this.emit('message', reply);
  }
  fail(message: string): void {
    this.emit('message', { id: this.received.at(-1)!.id, ok: false, error: { name: 'Error', message } });
  }
  terminate(): Promise<number> {
    this.terminated = true;
    return new Promise((resolve) => (this.#exit = resolve));
  }
  /** The stuck native call returned: the thread exits. */
  exit(code = 1): void {
    this.#exit?.(code);
    this.emit('exit', code);
  }
  unref(): void {
    this.unrefd = true;
  }
}

function setup(options: { stallMs?: number; maxAbandoned?: number } = {}) {
  const workers: FakeWorker[] = [];
  const client = new KeyringWorker({
    stallMs: options.stallMs ?? 10_000,
    maxAbandoned: options.maxAbandoned ?? 2,
    spawn: () => {
      const worker = new FakeWorker();
      workers.push(worker);
      return worker;
    },
  });
  return { client, workers };
}

const get = { op: 'get', service: 'svc', user: 'a/refresh-token' } as const;
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyringWorker', () => {
  test('one call at a time, in order, on one unref’d worker; native errors keep their message', async () => {
    const { client, workers } = setup();
    const first = client.call(get, 5_000);
    const second = client.call({ ...get, op: 'set', value: 'v' }, 5_000);
    const third = client.call(get, 5_000);
    assert.equal(workers.length, 1);
    const worker = workers[0]!;
    assert.equal(worker.unrefd, true);
    assert.equal(worker.received.length, 1, 'the second waits for the first');
    worker.answer('tok');
    assert.equal(await first, 'tok');
    await tick();
    assert.deepEqual(
      worker.received.map((r) => r.op),
      ['get', 'set'],
    );
    assert.equal(worker.received[1]!.value, 'v');
    worker.answer(null);
    assert.equal(await second, null);
    worker.fail('Platform failure: DBus error: Did not receive a reply');
    await assert.rejects(third, { message: 'Platform failure: DBus error: Did not receive a reply' });
  });

  test('a call stuck past stallMs fails the queued calls and new ones at once; its own answer still arrives', async () => {
    const { client, workers } = setup({ stallMs: 30 });
    const stuck = client.call(get, 5_000);
    const queued = assert.rejects(client.call(get, 5_000), (error: unknown) => {
      assert.ok(error instanceof KeychainStalledError);
      assert.match(error.message, /has not answered an earlier get call for 0\.\d s/);
      return true;
    });
    await sleep(60);
    await queued;
    await assert.rejects(client.call(get, 5_000), KeychainStalledError);
    assert.equal(workers[0]!.received.length, 1, 'nothing was sent behind the stuck call');
    workers[0]!.answer('late');
    assert.equal(await stuck, 'late');
    const next = client.call(get, 5_000);
    workers[0]!.answer('again');
    assert.equal(await next, 'again', 'calls go through again once it answered');
  });

  test('a call in flight at its deadline rejects, its worker is terminated and abandoned, the next call gets a fresh worker', async () => {
    const { client, workers } = setup();
    await assert.rejects(client.call(get, 20), (error: unknown) => {
      assert.ok(error instanceof KeychainDeadlineError);
      assert.equal(error.operation, 'get');
      assert.equal(error.timeoutMs, 20);
      return true;
    });
    assert.equal(workers[0]!.terminated, true);
    assert.equal(client.abandoned, 1);
    const next = client.call(get, 5_000);
    assert.equal(workers.length, 2);
    workers[1]!.answer('fresh');
    assert.equal(await next, 'fresh');
    workers[0]!.answer('too late', 0); // a stuck worker's late answer is ignored
    workers[0]!.exit();
    await tick();
    assert.equal(client.abandoned, 0);
  });

  test('a queued call at its deadline rejects without ever being sent', async () => {
    const { client, workers } = setup();
    const first = client.call(get, 5_000);
    await assert.rejects(client.call(get, 20), KeychainDeadlineError);
    workers[0]!.answer('one');
    assert.equal(await first, 'one');
    await tick();
    assert.equal(workers[0]!.received.length, 1);
  });

  test('at most maxAbandoned stuck workers: beyond that calls fail fast until one exits', async () => {
    const { client, workers } = setup({ maxAbandoned: 2 });
    await assert.rejects(client.call(get, 10), KeychainDeadlineError);
    await assert.rejects(client.call(get, 10), KeychainDeadlineError);
    assert.equal(client.abandoned, 2);
    await assert.rejects(client.call(get, 5_000), (error: unknown) => {
      assert.ok(error instanceof KeychainStalledError);
      assert.match(error.message, /not answered earlier calls at all/);
      return true;
    });
    assert.equal(workers.length, 2, 'no third thread was started');
    workers[0]!.exit();
    await tick();
    const next = client.call(get, 5_000);
    assert.equal(workers.length, 3);
    workers[2]!.answer('ok');
    assert.equal(await next, 'ok');
  });

  test('a worker that dies rejects its call; the next call starts a new one', async () => {
    const { client, workers } = setup();
    const dying = client.call(get, 5_000);
    workers[0]!.emit('error', new Error('worker crashed'));
    await assert.rejects(dying, { message: 'worker crashed' });
    const next = client.call(get, 5_000);
    assert.equal(workers.length, 2);
    workers[1]!.answer('ok');
    assert.equal(await next, 'ok');
  });

  test('a worker that cannot start rejects the call and the queue moves on', async () => {
    let attempts = 0;
    const client = new KeyringWorker({
      spawn: () => {
        attempts += 1;
        throw new Error('cannot start a thread');
      },
    });
    await assert.rejects(client.call(get, 5_000), { message: 'cannot start a thread' });
    await assert.rejects(client.call(get, 5_000), { message: 'cannot start a thread' });
    assert.equal(attempts, 2);
  });
});

describe('KeyringWorker when idle', () => {
  test('an idle worker is stopped after idleMs; the next call starts a fresh one', async () => {
    const workers: FakeWorker[] = [];
    const client = new KeyringWorker({
      idleMs: 20,
      spawn: () => {
        const worker = new FakeWorker();
        workers.push(worker);
        return worker;
      },
    });
    const first = client.call(get, 5_000);
    workers[0]!.answer('one');
    assert.equal(await first, 'one');
    assert.equal(workers[0]!.terminated, false, 'not while just used');
    await sleep(60);
    assert.equal(workers[0]!.terminated, true);
    const next = client.call(get, 5_000);
    assert.equal(workers.length, 2);
    workers[1]!.answer('two');
    assert.equal(await next, 'two');
  });
});
