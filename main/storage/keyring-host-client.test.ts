/**
 * KeyringHost against fake host processes: one call at a time, deadlines, fail-fast while a call
 * is stuck, killed hosts and their bound. The real host process is exercised against a private
 * gnome-keyring in keyring-secret-store.test.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { KeychainDeadlineError } from './keychain-deadline-error.js';
import { KeychainStalledError } from './keychain-stalled-error.js';
import { KeyringHost, keyringHostEntry, type KeyringHostProcess } from './keyring-host-client.js';
import type { KeyringHostReply, KeyringHostRequest } from './keyring-host-protocol.js';

/** A host that records requests and answers only when told to; once killed, it exits on `exit()`. */
class FakeHost extends EventEmitter implements KeyringHostProcess {
  readonly received: KeyringHostRequest[] = [];
  killed = false;
  unrefd = false;

  postMessage(message: KeyringHostRequest): void {
    this.received.push(message);
  }
  answer(value: string | null, index = this.received.length - 1): void {
    const reply: KeyringHostReply = { id: this.received[index]!.id, ok: true, value };
    this.emit('message', reply);
  }
  fail(message: string): void {
    this.emit('message', { id: this.received.at(-1)!.id, ok: false, error: { name: 'Error', message } });
  }
  kill(): void {
    this.killed = true;
  }
  /** The killed process is gone: its exit is reported. */
  exit(code: number | null = null): void {
    this.emit('exit', code);
  }
  unref(): void {
    this.unrefd = true;
  }
}

function setup(options: { stallMs?: number; maxAbandoned?: number } = {}) {
  const hosts: FakeHost[] = [];
  const client = new KeyringHost({
    stallMs: options.stallMs ?? 10_000,
    maxAbandoned: options.maxAbandoned ?? 2,
    spawn: () => {
      const host = new FakeHost();
      hosts.push(host);
      return host;
    },
  });
  return { client, hosts };
}

const get = { op: 'get', service: 'svc', user: 'a/refresh-token' } as const;
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyringHost', () => {
  test('one call at a time, in order, on one unref’d host; native errors keep their message', async () => {
    const { client, hosts } = setup();
    const first = client.call(get, 5_000);
    const second = client.call({ ...get, op: 'set', value: 'v' }, 5_000);
    const third = client.call(get, 5_000);
    assert.equal(hosts.length, 1);
    const host = hosts[0]!;
    assert.equal(host.unrefd, true);
    assert.equal(host.received.length, 1, 'the second waits for the first');
    host.answer('tok');
    assert.equal(await first, 'tok');
    await tick();
    assert.deepEqual(
      host.received.map((r) => r.op),
      ['get', 'set'],
    );
    assert.equal(host.received[1]!.value, 'v');
    host.answer(null);
    assert.equal(await second, null);
    host.fail('Platform failure: DBus error: Did not receive a reply');
    await assert.rejects(third, { message: 'Platform failure: DBus error: Did not receive a reply' });
  });

  test('a call stuck past stallMs fails the queued calls and new ones at once; its own answer still arrives', async () => {
    const { client, hosts } = setup({ stallMs: 30 });
    const stuck = client.call(get, 5_000);
    const queued = assert.rejects(client.call(get, 5_000), (error: unknown) => {
      assert.ok(error instanceof KeychainStalledError);
      assert.match(error.message, /has not answered an earlier get call for 0\.\d s/);
      return true;
    });
    await sleep(60);
    await queued;
    await assert.rejects(client.call(get, 5_000), KeychainStalledError);
    assert.equal(hosts[0]!.received.length, 1, 'nothing was sent behind the stuck call');
    hosts[0]!.answer('late');
    assert.equal(await stuck, 'late');
    const next = client.call(get, 5_000);
    hosts[0]!.answer('again');
    assert.equal(await next, 'again', 'calls go through again once it answered');
  });

  test('a call in flight at its deadline rejects, its host is killed, the next call gets a fresh host', async () => {
    const { client, hosts } = setup();
    await assert.rejects(client.call(get, 20), (error: unknown) => {
      assert.ok(error instanceof KeychainDeadlineError);
      assert.equal(error.operation, 'get');
      assert.equal(error.timeoutMs, 20);
      return true;
    });
    assert.equal(hosts[0]!.killed, true);
    assert.equal(client.abandoned, 1);
    const next = client.call(get, 5_000);
    assert.equal(hosts.length, 2);
    hosts[1]!.answer('fresh');
    assert.equal(await next, 'fresh');
    hosts[0]!.answer('too late', 0); // a killed host's late answer is ignored
    hosts[0]!.exit();
    await tick();
    assert.equal(client.abandoned, 0);
  });

  test('a queued call at its deadline rejects without ever being sent', async () => {
    const { client, hosts } = setup();
    const first = client.call(get, 5_000);
    await assert.rejects(client.call(get, 20), KeychainDeadlineError);
    hosts[0]!.answer('one');
    assert.equal(await first, 'one');
    await tick();
    assert.equal(hosts[0]!.received.length, 1);
  });

  test('at most maxAbandoned stuck hosts: beyond that calls fail fast until one exits', async () => {
    const { client, hosts } = setup({ maxAbandoned: 2 });
    await assert.rejects(client.call(get, 10), KeychainDeadlineError);
    await assert.rejects(client.call(get, 10), KeychainDeadlineError);
    assert.equal(client.abandoned, 2);
    await assert.rejects(client.call(get, 5_000), (error: unknown) => {
      assert.ok(error instanceof KeychainStalledError);
      assert.match(error.message, /not answered earlier calls at all/);
      return true;
    });
    assert.equal(hosts.length, 2, 'no third host was started');
    hosts[0]!.exit();
    await tick();
    const next = client.call(get, 5_000);
    assert.equal(hosts.length, 3);
    hosts[2]!.answer('ok');
    assert.equal(await next, 'ok');
  });

  test('a host that dies (a crash, SIGSEGV) rejects its call; the next call starts a new one', async () => {
    const { client, hosts } = setup();
    const dying = client.call(get, 5_000);
    hosts[0]!.emit('error', new Error('host crashed'));
    await assert.rejects(dying, { message: 'host crashed' });
    const next = client.call(get, 5_000);
    assert.equal(hosts.length, 2);
    hosts[1]!.answer('ok');
    assert.equal(await next, 'ok');
  });

  test('a host that cannot start rejects the call and the queue moves on', async () => {
    let attempts = 0;
    const client = new KeyringHost({
      spawn: () => {
        attempts += 1;
        throw new Error('cannot start a process');
      },
    });
    await assert.rejects(client.call(get, 5_000), { message: 'cannot start a process' });
    await assert.rejects(client.call(get, 5_000), { message: 'cannot start a process' });
    assert.equal(attempts, 2);
  });
});

describe('KeyringHost when idle', () => {
  test('an idle host is stopped after idleMs; the next call starts a fresh one', async () => {
    const hosts: FakeHost[] = [];
    const client = new KeyringHost({
      idleMs: 20,
      spawn: () => {
        const host = new FakeHost();
        hosts.push(host);
        return host;
      },
    });
    const first = client.call(get, 5_000);
    hosts[0]!.answer('one');
    assert.equal(await first, 'one');
    assert.equal(hosts[0]!.killed, false, 'not while just used');
    await sleep(60);
    assert.equal(hosts[0]!.killed, true);
    const next = client.call(get, 5_000);
    assert.equal(hosts.length, 2);
    hosts[1]!.answer('two');
    assert.equal(await next, 'two');
  });
});

describe('keyringHostEntry', () => {
  test('the compiled build forks keyring-host.js with no flags; a tsx checkout the .ts with tsx’s loader', () => {
    const built = keyringHostEntry('file:///opt/broker/dist/main/storage/keyring-host-client.js');
    assert.equal(built.script, '/opt/broker/dist/main/storage/keyring-host.js');
    assert.deepEqual(built.execArgv, []);
    const dev = keyringHostEntry('file:///src/broker/main/storage/keyring-host-client.ts');
    assert.equal(dev.script, '/src/broker/main/storage/keyring-host.ts');
    assert.equal(dev.execArgv[0], '--import');
    assert.match(dev.execArgv[1] ?? '', /^file:\/\/.*\/node_modules\/tsx\//);
  });
});
