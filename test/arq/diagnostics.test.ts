import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  ARQ_TURBO,
  type ArqConversationClosedMessage,
  type ArqConversationDeadMessage,
  type ArqConversationOpenedMessage,
  type ArqDatagramDroppedMessage,
  ArqDiagnostics,
  ArqEndpoint,
  KcpCommand,
} from '../../src/arq/index.ts';
import { demuxOf, PortholeFrame } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { countingRemote, recorder, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';
import { makePeers, nextConversation } from './helpers/peers.ts';

const record = recorder();

/** One 24-byte KCP segment header with no data. */
function segment(conv: number, cmd: number, sn = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(conv, 0);
  b[4] = cmd;
  b.writeUInt16LE(128, 6);
  b.writeUInt32LE(sn, 12);
  return b;
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

checkLeaks();

describe('arq diagnostics channels', () => {
  it('publishes conversation-opened on both sides and conversation-closed finished after the FIN handshake', async (t) => {
    const opened = record<ArqConversationOpenedMessage>(ArqDiagnostics.CONVERSATION_OPENED);
    const closed = record<ArqConversationClosedMessage>(ArqDiagnostics.CONVERSATION_CLOSED);
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const aAddress = { address: '127.0.0.1', port: peers.sockets[0].address().port };
    const stream = peers.a.open(peers.bRemote, 5);
    assert.deepEqual(opened.messages, [
      { conv: 5, remote: peers.bRemote, initiator: 'local', mode: 'message', conversations: 1 },
    ]);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('hello'));
    const remote = await accepted;
    assert.deepEqual(opened.messages[1], {
      conv: 5,
      remote: aAddress,
      initiator: 'remote',
      mode: 'message',
      conversations: 1,
    });
    remote.resume();
    stream.resume();
    stream.end();
    remote.end();
    await Promise.all([once(stream, 'close'), once(remote, 'close')]);
    const byRemotePort = new Map(closed.messages.map((m) => [m.remote.port, m]));
    assert.equal(closed.messages.length, 2);
    assert.deepEqual(byRemotePort.get(peers.bRemote.port), {
      conv: 5,
      remote: peers.bRemote,
      reason: 'finished',
      errorCode: undefined,
      messagesIn: 0,
      messagesOut: 1,
      retransmits: 0,
    });
    assert.equal(byRemotePort.get(aAddress.port)?.reason, 'finished');
    assert.equal(byRemotePort.get(aAddress.port)?.messagesIn, 1);
  });

  it('publishes conversation-closed reset at the side whose peer destroyed it, destroyed at the peer', async (t) => {
    const closed = record<ArqConversationClosedMessage>(ArqDiagnostics.CONVERSATION_CLOSED);
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const stream = peers.a.open(peers.bRemote, 8);
    stream.on('error', () => {});
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('x'));
    (await accepted).destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    assert.deepEqual(
      closed.messages.map((m) => [m.remote.port === peers.bRemote.port ? 'a' : 'b', m.reason, m.errorCode]),
      [
        ['b', 'destroyed', undefined],
        ['a', 'reset', 'ERR_ARQ_RESET'],
      ],
    );
  });

  for (const [cause, options] of [
    ['retransmissions', { deadLinkTransmissions: 3 }],
    ['silence', { deadLinkTransmissions: 1000, idleTimeoutMs: 100 }],
  ] as const) {
    it(`publishes conversation-dead (${cause}) then conversation-closed dead`, async (t) => {
      const dead = record<ArqConversationDeadMessage>(ArqDiagnostics.CONVERSATION_DEAD);
      const closed = record<ArqConversationClosedMessage>(ArqDiagnostics.CONVERSATION_CLOSED);
      const silent = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
      const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
      const endpoint = new ArqEndpoint({ demux: demuxOf(socket), framing: 'raw', ...ARQ_TURBO, ...options });
      t.after(() => {
        endpoint.close();
        demuxOf(socket).detach();
        socket.close();
        silent.close();
      });
      const remote = { address: '127.0.0.1', port: silent.address().port };
      const stream = endpoint.open(remote, 1);
      if (cause === 'retransmissions') stream.write(Buffer.from('anyone?'));
      const [error] = (await once(stream, 'error')) as [Error & { code: string }];
      assert.equal(error.code, 'ERR_ARQ_DEAD_LINK');
      assert.deepEqual(dead.messages, [{ conv: 1, remote, cause }]);
      assert.equal(closed.messages.length, 1);
      assert.equal(closed.messages[0]?.reason, 'dead');
      assert.equal(closed.messages[0]?.errorCode, 'ERR_ARQ_DEAD_LINK');
      if (cause === 'retransmissions') assert.ok(closed.messages[0]!.retransmits >= 2);
    });
  }

  it('publishes conversation-dead fin-unacknowledged when every FIN is lost', async (t) => {
    const dead = record<ArqConversationDeadMessage>(ArqDiagnostics.CONVERSATION_DEAD);
    const peers = await makePeers(
      'muxed',
      { ...ARQ_TURBO, deadLinkTransmissions: 3 },
      { ...ARQ_TURBO, accept: 'any' },
    );
    t.after(() => peers.dispose());
    // a's FIN control frames are lost on the way out; its data segments go through.
    const socket = peers.sockets[0] as Socket & { send: (...args: unknown[]) => void };
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    socket.send = (...args: unknown[]): void => {
      const data = args[0] as Buffer;
      if (data[0] === PortholeFrame.ARQ_CONTROL && data[1] === 1) return;
      send(...args);
    };
    const stream = peers.a.open(peers.bRemote, 3);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('data'));
    (await accepted).resume();
    const finished = new Promise<Error | undefined>((resolve) =>
      stream.end((error?: Error | null) => resolve(error ?? undefined)),
    );
    stream.on('error', () => {});
    const error = (await finished) as (Error & { code?: string }) | undefined;
    assert.equal(error?.code, 'ERR_ARQ_DEAD_LINK');
    assert.deepEqual(dead.messages, [{ conv: 3, remote: peers.bRemote, cause: 'fin-unacknowledged' }]);
  });

  it('publishes datagram-dropped for each reason', async (t) => {
    const dropped = record<ArqDatagramDroppedMessage>(ArqDiagnostics.DATAGRAM_DROPPED);
    const rawSocket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const never = new ArqEndpoint({ demux: demuxOf(rawSocket), framing: 'raw', ...ARQ_TURBO });
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any', maxConversations: 1 });
    const sender = await udp();
    t.after(() => {
      never.close();
      demuxOf(rawSocket).detach();
      rawSocket.close();
      peers.dispose();
      sender.close();
    });
    const from = { address: '127.0.0.1', port: sender.address().port };
    // Muxed framing: the frame type byte, then the KCP bytes.
    const muxed = (kcp: Buffer): Buffer => Buffer.concat([Buffer.from([PortholeFrame.ARQ_SEGMENT]), kcp]);
    // A conversation from `sender` that b accepts (its one allowed), so later ones are over the limit.
    const first = muxed(segment(100, KcpCommand.PUSH));
    const cases: [ArqDatagramDroppedMessage['reason'], Buffer, number, number | undefined][] = [
      ['short', Buffer.from([1, 2, 3]), rawSocket.address().port, undefined],
      ['refused', segment(9, KcpCommand.PUSH), rawSocket.address().port, 9],
    ];
    for (const [, data, port] of cases) sender.send(data, port, '127.0.0.1');
    await dropped.next((m) => m.reason === 'refused');
    const bPort = peers.bRemote.port;
    sender.send(first, bPort, '127.0.0.1');
    await once(peers.b, 'conversation', { signal: AbortSignal.timeout(5000) });
    const later: [ArqDatagramDroppedMessage['reason'], Buffer, number | undefined][] = [
      ['unknown-conversation', muxed(segment(200, KcpCommand.ACK)), 200],
      ['over-limit', muxed(segment(300, KcpCommand.PUSH)), 300],
      ['malformed', muxed(segment(100, 99)), 100],
      ['control', Buffer.from([PortholeFrame.ARQ_CONTROL, 0xee]), undefined],
    ];
    for (const [, data] of later) sender.send(data, bPort, '127.0.0.1');
    await dropped.next((m) => m.reason === 'control');
    assert.deepEqual(
      dropped.messages.map((m) => [m.reason, m.from, m.size]),
      [
        ...cases.map(([reason, data]) => [reason, from, data.length]),
        ...later.map(([reason, data]) => [reason, from, data.length]),
      ],
    );
    assert.deepEqual(
      dropped.messages.map((m) => m.conv),
      [undefined, 9, ...later.map(([, , conv]) => conv)],
    );
  });

  it('publishes datagram-dropped address-limit past maxConversationsPerAddress', async (t) => {
    const dropped = record<ArqDatagramDroppedMessage>(ArqDiagnostics.DATAGRAM_DROPPED);
    const peers = await makePeers('muxed', ARQ_TURBO, {
      ...ARQ_TURBO,
      accept: 'any',
      maxConversationsPerAddress: 1,
    });
    const sender = await udp();
    t.after(() => {
      peers.dispose();
      sender.close();
    });
    const muxed = (kcp: Buffer): Buffer => Buffer.concat([Buffer.from([PortholeFrame.ARQ_SEGMENT]), kcp]);
    sender.send(muxed(segment(100, KcpCommand.PUSH)), peers.bRemote.port, '127.0.0.1');
    await once(peers.b, 'conversation', { signal: AbortSignal.timeout(5000) });
    const second = muxed(segment(101, KcpCommand.PUSH));
    sender.send(second, peers.bRemote.port, '127.0.0.1');
    assert.deepEqual(await dropped.next(), {
      reason: 'address-limit',
      from: { address: '127.0.0.1', port: sender.address().port },
      size: second.length,
      conv: 101,
    });
    assert.equal(peers.b.stats().refusedPerAddress, 1);
  });

  it('publishes nothing and reads no sender field for a drop when nobody subscribes', async (t) => {
    const names = Object.values(ArqDiagnostics);
    const spy = spyPublishes(names);
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => {
      spy.restore();
      peers.dispose();
    });
    const stream = peers.a.open(peers.bRemote, 5);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('hello'));
    (await accepted).destroy();
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('close', resolve));
    const demux = peers.demuxes[1]!;
    const unobserved = countingRemote();
    demux.inject(Buffer.from([PortholeFrame.ARQ_CONTROL, 0xee]), unobserved.from as RemoteInfo);
    for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    assert.equal(unobserved.reads(), 0, 'a malformed control frame is dropped before the sender is read');
    const dropped = record<ArqDatagramDroppedMessage>(ArqDiagnostics.DATAGRAM_DROPPED);
    const observed = countingRemote();
    demux.inject(Buffer.from([PortholeFrame.ARQ_CONTROL, 0xee]), observed.from as RemoteInfo);
    assert.equal(observed.reads(), 2);
    assert.equal(dropped.messages.length, 1);
  });
});
