import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { demuxOf } from '../../src/mux/index.ts';
import {
  decodeStun,
  encodeStun,
  makeBindingRequest,
  StunAttr,
  StunClass,
  StunClient,
  StunDiagnostics,
  StunMethod,
  type StunRequestAnsweredMessage,
  type StunRequestDroppedMessage,
  type StunResponseDroppedMessage,
  StunServerCore,
  type StunTransactionCompletedMessage,
  type StunTransactionEndedMessage,
  type StunTransactionStartedMessage,
  StunTransactions,
} from '../../src/stun/index.ts';
import { recorder, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';

const record = recorder();

const SERVER = { address: '192.0.2.1', port: 3478 };
const CLIENT = { address: '198.51.100.9', port: 50000 };

function binding(fingerprint = false): Buffer {
  return encodeStun(makeBindingRequest(), { fingerprint });
}
function hexId(data: Buffer): string {
  return data.subarray(8, 20).toString('hex');
}
function response(request: Buffer, cls: number = StunClass.SUCCESS_RESPONSE): Buffer {
  return encodeStun({
    method: StunMethod.BINDING,
    class: cls as 2 | 3,
    transactionId: request.subarray(8, 20),
    attributes: [],
  });
}

checkLeaks();

describe('stun diagnostics: client transactions (sans-I/O core, fake clock)', () => {
  it('publishes transaction-started and transaction-completed with the attempts made', () => {
    const started = record<StunTransactionStartedMessage>(StunDiagnostics.TRANSACTION_STARTED);
    const completed = record<StunTransactionCompletedMessage>(StunDiagnostics.TRANSACTION_COMPLETED);
    const core = new StunTransactions<string>({ rtoMs: 100, rc: 3, rm: 2 });
    const request = binding();
    core.start(request, SERVER, 0, 'ctx');
    const id = hexId(request);
    assert.deepEqual(started.messages, [
      { transactionId: id, method: StunMethod.BINDING, to: SERVER, rtoMs: 100, rc: 3 },
    ]);
    assert.equal(core.poll(0)?.type, 'send');
    assert.equal(core.poll(100)?.type, 'send');
    assert.equal(completed.messages.length, 0);
    assert.equal(core.receive(decode(response(request))), 'ctx');
    assert.deepEqual(completed.messages, [
      { transactionId: id, method: StunMethod.BINDING, to: SERVER, attempts: 2, outcome: 'success' },
    ]);
    const second = binding();
    core.start(second, SERVER, 200, 'ctx2');
    core.poll(200);
    core.receive(decode(response(second, StunClass.ERROR_RESPONSE)));
    assert.equal(completed.messages[1]?.outcome, 'error');
  });

  it('publishes transaction-timed-out after Rc transmissions and Rm × RTO', () => {
    const timedOut = record<StunTransactionEndedMessage>(StunDiagnostics.TRANSACTION_TIMED_OUT);
    const core = new StunTransactions<string>({ rtoMs: 100, rc: 2, rm: 3 });
    const request = binding();
    core.start(request, SERVER, 0, 'ctx');
    core.poll(0);
    core.poll(100);
    assert.equal(core.poll(399), undefined);
    assert.equal(timedOut.messages.length, 0);
    assert.equal(core.poll(400)?.type, 'timeout');
    assert.deepEqual(timedOut.messages, [
      { transactionId: hexId(request), method: StunMethod.BINDING, to: SERVER, attempts: 2 },
    ]);
  });

  it('publishes transaction-cancelled for cancel() and for each transaction drain() removes', () => {
    const cancelled = record<StunTransactionEndedMessage>(StunDiagnostics.TRANSACTION_CANCELLED);
    const core = new StunTransactions<string>();
    const a = binding();
    const b = binding();
    const c = binding();
    const key = core.start(a, SERVER, 0, 'a');
    core.start(b, SERVER, 0, 'b');
    core.start(c, CLIENT, 0, 'c');
    core.poll(0);
    assert.equal(core.cancel(key), true);
    assert.equal(core.cancel(key), false);
    assert.deepEqual(cancelled.messages, [
      { transactionId: hexId(a), method: StunMethod.BINDING, to: SERVER, attempts: 1 },
    ]);
    core.drain();
    assert.deepEqual(
      cancelled.messages.slice(1).map((m) => [m.transactionId, m.to, m.attempts]),
      [
        [hexId(b), SERVER, 0],
        [hexId(c), CLIENT, 0],
      ],
    );
  });
});

describe('stun diagnostics: StunClient response drops (loopback)', () => {
  let sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets) s.close();
    sockets = [];
  });
  async function bound(): Promise<Socket> {
    const s = createSocket('udp4');
    sockets.push(s);
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return s;
  }

  it('publishes response-dropped for a bad FINGERPRINT and a failed MESSAGE-INTEGRITY check', async () => {
    const dropped = record<StunResponseDroppedMessage>(StunDiagnostics.RESPONSE_DROPPED);
    const cancelled = record<StunTransactionEndedMessage>(StunDiagnostics.TRANSACTION_CANCELLED);
    const socket = await bound();
    const peer = await bound();
    const to = { address: '127.0.0.1', port: peer.address().port };
    const client = new StunClient({ demux: demuxOf(socket) });
    const requests: Buffer[] = [];
    peer.on('message', (m) => requests.push(m));
    const plain = client.request(makeBindingRequest(), { to, rtoMs: 60_000 });
    const guarded = client.request(makeBindingRequest(), {
      to,
      rtoMs: 60_000,
      integrityKey: Buffer.from('key'),
    });
    for (let i = 0; i < 400 && requests.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.equal(requests.length, 2);
    const from: RemoteInfo = { ...to, family: 'IPv4', size: 0 };
    const [first, second] = requests as [Buffer, Buffer];
    const plainRequest = first.length < second.length ? first : second;
    const guardedRequest = plainRequest === first ? second : first;
    const badFingerprint = encodeStun(
      {
        method: StunMethod.BINDING,
        class: StunClass.SUCCESS_RESPONSE,
        transactionId: plainRequest.subarray(8, 20),
        attributes: [],
      },
      { fingerprint: true },
    );
    badFingerprint[badFingerprint.length - 1]! ^= 1;
    assert.equal(client.handleDatagram(badFingerprint, from), true);
    const noIntegrity = response(guardedRequest);
    assert.equal(client.handleDatagram(noIntegrity, from), true);
    assert.deepEqual(dropped.messages, [
      {
        reason: 'bad-fingerprint',
        transactionId: hexId(plainRequest),
        from: to,
        size: badFingerprint.length,
      },
      { reason: 'bad-integrity', transactionId: hexId(guardedRequest), from: to, size: noIntegrity.length },
    ]);
    client.close();
    await assert.rejects(plain, { code: 'ERR_CLOSED' });
    await assert.rejects(guarded, { code: 'ERR_CLOSED' });
    assert.equal(cancelled.messages.length, 2);
  });
});

describe('stun diagnostics: server core', () => {
  const locals = [{ address: SERVER.address, port: SERVER.port }];

  it('publishes request-answered for a success and for an error response', () => {
    const answered = record<StunRequestAnsweredMessage>(StunDiagnostics.REQUEST_ANSWERED);
    const core = new StunServerCore({ locals, rateLimit: false });
    const request = binding();
    const reply = core.handle(request, CLIENT, 0, 0);
    assert.ok(reply);
    // A comprehension-required attribute (type below 0x8000) the server does not know: 420.
    const unknown = encodeStun({
      ...makeBindingRequest(),
      attributes: [{ type: 0x7f01, value: Buffer.alloc(4) }],
    });
    const errorReply = core.handle(unknown, CLIENT, 0, 0);
    assert.ok(errorReply);
    assert.deepEqual(answered.messages, [
      {
        transactionId: hexId(request),
        method: StunMethod.BINDING,
        from: CLIENT,
        to: CLIENT,
        via: 0,
        outcome: 'success',
        errorCode: undefined,
        classic: false,
        size: reply.data.length,
      },
      {
        transactionId: hexId(unknown),
        method: StunMethod.BINDING,
        from: CLIENT,
        to: CLIENT,
        via: 0,
        outcome: 'error',
        errorCode: 420,
        classic: false,
        size: errorReply.data.length,
      },
    ]);
  });

  it('publishes request-dropped with its reason', () => {
    const dropped = record<StunRequestDroppedMessage>(StunDiagnostics.REQUEST_DROPPED);
    const core = new StunServerCore({ locals, rateLimit: { burst: 1, ratePerSecond: 1 } });
    const request = binding();
    const indication = encodeStun({ ...makeBindingRequest(), class: StunClass.INDICATION });
    const badFingerprint = binding(true);
    badFingerprint[badFingerprint.length - 1]! ^= 1;
    // STUN framing holds (isStunPacket), but the attribute claims 8 value bytes of the 4 present.
    const truncated = encodeStun({
      ...makeBindingRequest(),
      attributes: [{ type: 0x8022, value: Buffer.alloc(4) }],
    });
    truncated.writeUInt16BE(8, 22);
    const cases: [StunRequestDroppedMessage['reason'], Buffer, number][] = [
      ['badLocal', request, 5],
      ['notStun', Buffer.from([0x80, 0, 0, 0]), 0],
      ['malformed', truncated, 0],
      ['notRequest', indication, 0],
      ['badFingerprint', badFingerprint, 0],
    ];
    // One source per case: the rate limit (burst 1) is per source address.
    const sources = cases.map((_, i) => ({ address: `198.51.100.${20 + i}`, port: 1 }));
    for (const [i, [, data, via]] of cases.entries())
      assert.equal(core.handle(data, sources[i]!, via, 0), undefined);
    assert.ok(core.handle(request, CLIENT, 0, 0));
    assert.equal(core.handle(request, CLIENT, 0, 0), undefined, 'over the per-source rate');
    assert.deepEqual(dropped.messages, [
      ...cases.map(([reason, data], i) => ({ reason, from: sources[i], size: data.length })),
      { reason: 'rateLimited', from: CLIENT, size: request.length },
    ]);
  });

  it('publishes request-dropped amplification for a RESPONSE-PORT response over the bound', () => {
    const dropped = record<StunRequestDroppedMessage>(StunDiagnostics.REQUEST_DROPPED);
    const core = new StunServerCore({
      locals,
      rateLimit: false,
      amplificationFactor: 1,
      software: 'a long software name',
    });
    const request = encodeStun({
      ...makeBindingRequest(),
      attributes: [{ type: StunAttr.RESPONSE_PORT, value: Buffer.from([0xc0, 0x00, 0, 0]) }],
    });
    assert.equal(core.handle(request, CLIENT, 0, 0), undefined);
    assert.deepEqual(dropped.messages, [{ reason: 'amplification', from: CLIENT, size: request.length }]);
    assert.equal(core.stats().dropped.amplification, 1);
  });

  it('publishes nothing when nobody subscribes', () => {
    const names = Object.values(StunDiagnostics);
    const spy = spyPublishes(names);
    try {
      const core = new StunServerCore({ locals, rateLimit: false });
      core.handle(binding(), CLIENT, 0, 0);
      core.handle(Buffer.from([0x80]), CLIENT, 0, 0);
      const tx = new StunTransactions<number>({ rtoMs: 1, rc: 1, rm: 1 });
      const a = binding();
      tx.start(a, SERVER, 0, 1);
      tx.poll(0);
      tx.receive(decode(response(a)));
      tx.start(binding(), SERVER, 0, 2);
      tx.poll(0);
      tx.poll(5);
      tx.cancel(tx.start(binding(), SERVER, 0, 3));
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    } finally {
      spy.restore();
    }
  });
});

function decode(data: Buffer): ReturnType<typeof decodeStun> {
  return decodeStun(data);
}
