import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CoreDriver, type CoreTransmit, type SansIoCore } from '../../src/internal/core-driver.ts';

type Event =
  | { readonly type: 'got'; readonly size: number }
  | { readonly type: 'woke'; readonly atMs: number };

/** A core that echoes each datagram after `delayMs` and reports what it did. */
class EchoCore implements SansIoCore<Event> {
  readonly pending: { atMs: number; data: Buffer; to: { address: string; port: number } }[] = [];
  readonly out: CoreTransmit[] = [];
  readonly events: Event[] = [];
  closed = 0;
  readonly delayMs: number;
  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }
  receive(data: Buffer, from: { address: string; port: number }, nowMs: number): void {
    this.pending.push({ atMs: nowMs + this.delayMs, data, to: { address: from.address, port: from.port } });
    this.events.push({ type: 'got', size: data.length });
  }
  poll(nowMs: number): void {
    while (this.pending.length > 0 && this.pending[0]!.atMs <= nowMs) {
      const p = this.pending.shift()!;
      this.out.push({ data: p.data, to: p.to });
      this.events.push({ type: 'woke', atMs: nowMs });
    }
  }
  nextWakeMs(): number {
    return this.pending[0]?.atMs ?? Number.POSITIVE_INFINITY;
  }
  drain(): CoreTransmit[] {
    return this.out.splice(0);
  }
  drainEvents(): Event[] {
    return this.events.splice(0);
  }
  close(): void {
    this.closed++;
  }
}

const FROM: RemoteInfo = { address: '192.0.2.9', port: 4000, family: 'IPv4', size: 3 };

describe('internal/CoreDriver', () => {
  let now = 0;
  beforeEach(() => {
    now = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  function setup(options: { signal?: AbortSignal; failSend?: boolean } = {}) {
    const core = new EchoCore(100);
    let handler: ((data: Buffer, from: RemoteInfo) => void) | undefined;
    let removed = 0;
    const sent: { data: Uint8Array; port: number; address: string }[] = [];
    const events: Event[] = [];
    let closedHook = 0;
    const driver = new CoreDriver<Event>(core, {
      attach: (h) => {
        handler = h;
        return { remove: () => removed++ };
      },
      sender: {
        send(data, port, address, callback) {
          sent.push({ data, port, address });
          callback(options.failSend === true ? new Error('EPERM') : null);
        },
      },
      onEvent: (e) => events.push(e),
      onClose: () => {
        closedHook++;
      },
      now: () => now,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return {
      core,
      driver,
      sent,
      events,
      deliver: (data: Buffer) => handler!(data, FROM),
      removed: () => removed,
      closedHook: () => closedHook,
    };
  }

  function advance(ms: number): void {
    now += ms;
    mock.timers.tick(ms);
  }

  it('feeds datagrams to the core, arms the one timer at nextWakeMs and sends what it drains', () => {
    const s = setup();
    s.deliver(Buffer.from('abc'));
    assert.deepEqual(s.events, [{ type: 'got', size: 3 }]);
    advance(99);
    assert.equal(s.sent.length, 0, 'not before the wake-up time');
    advance(1);
    assert.equal(s.sent.length, 1);
    assert.deepEqual(
      { ...s.sent[0], data: String(s.sent[0]!.data) },
      { data: 'abc', port: 4000, address: '192.0.2.9' },
    );
    assert.deepEqual(s.events.at(-1), { type: 'woke', atMs: 100 });
    assert.deepEqual(s.driver.stats(), { received: 1, sent: 1, sendErrors: 0, wakeups: 1 });
    advance(10_000);
    assert.equal(s.driver.stats().wakeups, 1, 'idle: no further wake-ups');
  });

  it('keeps one pending timeout across many datagrams (wakes once per due time, not per datagram)', () => {
    const s = setup();
    for (let i = 0; i < 50; i++) {
      s.deliver(Buffer.from([i]));
      advance(1);
    }
    advance(200);
    assert.equal(s.sent.length, 50);
    assert.ok(s.driver.stats().wakeups <= 50, `${s.driver.stats().wakeups} wake-ups`);
    assert.deepEqual(
      s.sent.map((x) => x.data[0]),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('counts send errors', () => {
    const s = setup({ failSend: true });
    s.deliver(Buffer.from('x'));
    advance(100);
    assert.equal(s.driver.stats().sendErrors, 1);
  });

  it('close() is idempotent: removes the registration, stops the timer, closes the core once', async () => {
    const s = setup();
    s.deliver(Buffer.from('x'));
    const first = s.driver.close();
    const second = s.driver.close();
    assert.equal(first, second, 'the same promise');
    await first;
    await s.driver[Symbol.asyncDispose]();
    assert.equal(s.removed(), 1);
    assert.equal(s.core.closed, 1);
    assert.equal(s.closedHook(), 1);
    assert.equal(s.driver.closed, true);
    advance(1000);
    assert.equal(s.sent.length, 0, 'the pending wake-up never fires');
    s.deliver(Buffer.from('late'));
    assert.equal(s.driver.stats().received, 1, 'nothing reaches the core after close');
  });

  it('aborting the signal closes the driver; an aborted signal closes it at once', async () => {
    const controller = new AbortController();
    const s = setup({ signal: controller.signal });
    controller.abort();
    await s.driver.close();
    assert.equal(s.removed(), 1);
    assert.equal(s.core.closed, 1);
    const t = setup({ signal: AbortSignal.abort() });
    await Promise.resolve();
    assert.equal(t.driver.closed, true);
    await t.driver.close();
    assert.equal(t.core.closed, 1);
  });
});
