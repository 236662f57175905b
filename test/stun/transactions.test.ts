// The sans-I/O transaction core under a fake clock: RFC 8489 §6.2.1 retransmission schedule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeStun, encodeStun, StunClass, StunMethod, StunTransactions } from '../../src/stun/index.ts';

const to = { address: '127.0.0.1', port: 3478 };

function request(): Buffer {
  return encodeStun({ method: StunMethod.BINDING, class: StunClass.REQUEST });
}

function responseTo(req: Buffer, cls: 2 | 3 = StunClass.SUCCESS_RESPONSE) {
  return decodeStun(
    encodeStun({ method: StunMethod.BINDING, class: cls, transactionId: req.subarray(8, 20) }),
  );
}

/** Drives `core` to `until` ms, one event at a time, returning [time, kind] pairs. */
function run<T>(core: StunTransactions<T>, until: number): [number, string][] {
  const log: [number, string][] = [];
  for (let now = core.nextWakeMs(); now <= until; now = core.nextWakeMs()) {
    for (let e = core.poll(now); e !== undefined; e = core.poll(now)) log.push([now, e.type]);
  }
  return log;
}

describe('StunTransactions', () => {
  it('sends at 0, 500, 1500, 3500, 7500, 15500, 31500 and times out at 39500 (RTO 500, Rc 7, Rm 16)', () => {
    const core = new StunTransactions<string>();
    core.start(request(), to, 0, 'ctx');
    assert.deepEqual(run(core, 100_000), [
      [0, 'send'],
      [500, 'send'],
      [1500, 'send'],
      [3500, 'send'],
      [7500, 'send'],
      [15500, 'send'],
      [31500, 'send'],
      [39500, 'timeout'],
    ]);
    assert.equal(core.stats().timeouts, 1);
    assert.equal(core.stats().retransmits, 6);
    assert.equal(core.nextWakeMs(), Number.POSITIVE_INFINITY);
  });
  it('honours rtoMs, rc and rm per transaction', () => {
    const core = new StunTransactions<number>({ rtoMs: 100, rc: 3, rm: 4 });
    core.start(request(), to, 1000, 1);
    core.start(request(), to, 1000, 2, { rtoMs: 10, rc: 2, rm: 1 });
    const log = run(core, 10_000);
    assert.deepEqual(log, [
      [1000, 'send'],
      [1000, 'send'],
      [1010, 'send'],
      [1020, 'timeout'],
      [1100, 'send'],
      [1300, 'send'],
      [1700, 'timeout'],
    ]);
  });
  it('nothing is due before its time', () => {
    const core = new StunTransactions<number>();
    core.start(request(), to, 0, 1);
    assert.equal(core.poll(0)?.type, 'send');
    assert.equal(core.poll(499), undefined);
    assert.equal(core.nextWakeMs(), 500);
  });
  it('matches responses by transaction ID only; unknown IDs are counted and dropped', () => {
    const core = new StunTransactions<string>();
    const a = request();
    const b = request();
    core.start(a, to, 0, 'a');
    core.start(b, to, 0, 'b');
    assert.equal(core.receive(responseTo(request())), undefined);
    assert.equal(core.receive(responseTo(b, StunClass.ERROR_RESPONSE)), 'b');
    assert.equal(core.receive(responseTo(b)), undefined, 'a duplicate response matches nothing');
    assert.equal(core.receive(decodeStun(a)), undefined, 'a request is never a response');
    assert.equal(core.receive(responseTo(a)), 'a');
    const s = core.stats();
    assert.equal(s.matched, 2);
    assert.equal(s.unknownResponses, 2);
    assert.equal(s.notResponses, 1);
    assert.equal(s.inFlight, 0);
  });
  it('cancel ends a transaction; drain empties the table', () => {
    const core = new StunTransactions<number>();
    const key = core.start(request(), to, 0, 1);
    core.start(request(), to, 0, 2);
    assert.equal(core.cancel(key), true);
    assert.equal(core.cancel(key), false);
    assert.deepEqual(core.drain(), [2]);
    assert.equal(core.stats().cancelled, 2);
    assert.equal(core.poll(1e9), undefined);
  });
  it('caps transactions in flight → ERR_STUN_TOO_MANY_TRANSACTIONS', () => {
    const core = new StunTransactions<number>({ maxTransactions: 2 });
    core.start(request(), to, 0, 1);
    core.start(request(), to, 0, 2);
    assert.throws(() => core.start(request(), to, 0, 3), { code: 'ERR_STUN_TOO_MANY_TRANSACTIONS' });
    assert.equal(core.stats().refused, 1);
  });
  it('rejects a duplicate transaction ID and invalid options', () => {
    const core = new StunTransactions<number>();
    const r = request();
    core.start(r, to, 0, 1);
    assert.throws(() => core.start(r, to, 0, 2), { code: 'ERR_INVALID_OPTION', option: 'transactionId' });
    assert.throws(() => new StunTransactions({ rtoMs: 0 }), { code: 'ERR_INVALID_OPTION', option: 'rtoMs' });
    assert.throws(() => new StunTransactions({ rc: 0 }), { code: 'ERR_INVALID_OPTION', option: 'rc' });
    assert.throws(() => new StunTransactions({ rm: -1 }), { code: 'ERR_INVALID_OPTION', option: 'rm' });
  });
});
