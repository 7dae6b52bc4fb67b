import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { Logger } from '../core/ports.js';
import { ConnectionGate, connectionOf, type GateClock } from './connection-gate.js';
import { fitConnections, openFileLimit, RESERVED_FDS } from './fd-limit.js';

class FakeSocket extends EventEmitter {
  written = '';
  ended = false;
  destroyed = false;
  resumed = false;
  writable = true;
  readonly remotePort: number;
  constructor(port: number) {
    super();
    this.remotePort = port;
  }
  end(text?: string): this {
    if (text) this.written += text;
    this.ended = true;
    this.writable = false;
    return this;
  }
  resume(): this {
    this.resumed = true;
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }
}

class ManualClock implements GateClock {
  t = 0;
  timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): void {
    this.timers.push({ at: this.t + ms, fn });
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.fn();
  }
}

function setup(max = 2) {
  const clock = new ManualClock();
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (obj, msg) => void lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' }),
    error: () => undefined,
  };
  const gate = new ConnectionGate({
    listener: 'tcp',
    maxConnections: max,
    silentEvictAfterMs: 1000,
    graceMs: 1000,
    retryAfterSeconds: 2,
    logEveryMs: 10_000,
    log,
    clock,
  });
  let port = 40000;
  const socket = () => new FakeSocket(port++);
  const admit = (s: FakeSocket) => gate.admit(s as unknown as Socket);
  return { clock, lines, gate, socket, admit };
}

describe('connection gate', () => {
  it('lets connections in up to the bound, then answers 503 with Retry-After and destroys after the grace', () => {
    const { gate, socket, admit, clock } = setup(2);
    const [a, b, c] = [socket(), socket(), socket()];
    assert.equal(admit(a), true);
    assert.equal(admit(b), true);
    gate.spoke(a as unknown as Socket);
    gate.spoke(b as unknown as Socket);
    assert.equal(admit(c), false);
    assert.match(c.written, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(c.written, /\r\nretry-after: 2\r\n/);
    assert.match(c.written, /\r\nconnection: close\r\n/);
    const body = c.written.slice(c.written.indexOf('\r\n\r\n') + 4);
    assert.match(c.written, new RegExp(`content-length: ${Buffer.byteLength(body)}\\r\\n`));
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'too_many_connections');
    assert.ok(c.ended && c.resumed, 'ended, and what it sends is drained (no reset)');
    assert.equal(c.destroyed, false, 'not yet: it may still be reading');
    clock.advance(999);
    assert.equal(c.destroyed, false);
    clock.advance(1);
    assert.equal(c.destroyed, true, 'destroyed after the grace whatever the peer does');
    assert.equal(gate.size, 2);
    assert.equal(connectionOf(c as unknown as Socket), undefined);
    assert.equal(connectionOf(a as unknown as Socket)?.remotePort, a.remotePort);
  });

  it('a closed connection frees its place', () => {
    const { gate, socket, admit } = setup(1);
    const a = socket();
    assert.equal(admit(a), true);
    gate.spoke(a as unknown as Socket);
    a.destroy();
    assert.equal(gate.size, 0);
    assert.equal(admit(socket()), true);
  });

  it('at the bound, the oldest connection silent for silentEvictAfterMs makes room; talkers and young ones stay', () => {
    const { gate, socket, admit, clock } = setup(3);
    const talker = socket();
    const silentOld = socket();
    admit(talker);
    admit(silentOld);
    gate.spoke(talker as unknown as Socket);
    clock.advance(500);
    const silentYoung = socket();
    admit(silentYoung);
    // Full; the silent one is only 500 ms old: the newcomer is refused.
    const early = socket();
    assert.equal(admit(early), false);
    clock.advance(600); // silentOld is 1100 ms old, silentYoung 600 ms
    const newcomer = socket();
    assert.equal(admit(newcomer), true, 'the newcomer takes the silent holder’s place');
    assert.match(silentOld.written, /^HTTP\/1\.1 503 /, 'the holder is told, not reset');
    assert.equal(talker.ended, false, 'a connection that sent a request is never evicted');
    assert.equal(silentYoung.ended, false);
    assert.equal(gate.size, 3);
    clock.advance(1000);
    assert.equal(silentOld.destroyed, true);
  });

  it('logs refusals at most once per interval, with the count', () => {
    const { gate, socket, admit, clock, lines } = setup(1);
    const a = socket();
    admit(a);
    gate.spoke(a as unknown as Socket);
    for (let i = 0; i < 5; i++) admit(socket());
    assert.equal(lines.length, 1, 'the first refusal is logged at once');
    assert.equal(lines[0]!.obj.refused, 1);
    assert.match(lines[0]!.msg, /TCP connection limit reached \(1\)/);
    clock.advance(9_000);
    admit(socket());
    assert.equal(lines.length, 1);
    clock.advance(1_000);
    admit(socket());
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.obj.refused, 6, 'the ones in between are counted');
    admit(socket());
    gate.flushLog();
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.obj.refused, 1);
    gate.flushLog();
    assert.equal(lines.length, 3, 'nothing left to say');
  });
});

describe('open-file limit', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 524288               files\n`;
  it('reads the soft limit from /proc/self/limits', { skip: process.platform !== 'linux' }, () => {
    assert.equal(
      openFileLimit(() => limits('1024')),
      1024,
    );
    assert.equal(
      openFileLimit(() => limits('unlimited')),
      undefined,
    );
    assert.equal(
      openFileLimit(() => {
        throw new Error('no /proc');
      }),
      undefined,
    );
    assert.ok((openFileLimit() ?? 0) > 0, 'this machine has one');
  });

  it('fits the bound into the limit, shared by the listeners', () => {
    assert.equal(fitConnections(1500, 2, 524_288), 1500);
    assert.equal(fitConnections(1500, 2, undefined), 1500);
    assert.equal(fitConnections(1500, 2, 1024), Math.floor((1024 - RESERVED_FDS) / 2));
    assert.equal(fitConnections(1500, 1, 1024), 1024 - RESERVED_FDS);
    assert.equal(fitConnections(1500, 2, 100), 16, 'never below 16');
    assert.equal(fitConnections(5, 2, 100), 5, 'a smaller bound is kept');
  });
});
