// The TURN client against a real coturn on 127.0.0.1 (long-term credentials, loopback peers allowed):
// the 401 dance, a wrong password, data both ways via Send/Data indications and via ChannelData,
// permission enforcement, scheduled refreshes with stale nonces, close → Refresh 0, and sharing one
// socket with a StunClient and a StunServer through one Demux (the STUN sub-router). Skips only when `turnserver` (apt coturn) is missing.
import assert from 'node:assert/strict';
import type { RemoteInfo, Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingTool } from '../../src/lab/index.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { StunClient, StunServer } from '../../src/stun/index.ts';
import { TurnClient, type TurnClientOptions, type TurnDatagram } from '../../src/turn/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { type Coturn, startCoturn, TURN_PASSWORD, TURN_USER } from '../support/turn-coturn.ts';

checkLeaks();

const skip = (await missingTool('turnserver', 'coturn')) ?? false;

async function udp(address = '127.0.0.1'): Promise<Socket> {
  return bindUdpSocket({ family: 'udp4', address, port: 0 });
}

/** A plain UDP peer that records what it gets and can answer. */
class Peer {
  readonly received: { data: string; from: RemoteInfo }[] = [];
  #waiters: (() => void)[] = [];
  readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, from) => {
      this.received.push({ data: data.toString(), from });
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
  get port(): number {
    return this.socket.address().port;
  }
  get address(): string {
    return this.socket.address().address;
  }
  async next(count: number): Promise<void> {
    for (let i = 0; i < 200 && this.received.length < count; i++) {
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(50)]);
    }
    assert.ok(this.received.length >= count, `peer got ${this.received.length} of ${count} datagrams`);
  }
}

async function nextDatagram(iterator: AsyncIterator<TurnDatagram>): Promise<TurnDatagram> {
  const result = await Promise.race([
    iterator.next(),
    // An unref'd guard: once the datagram is there, the pending timer holds nothing open.
    sleep(10_000, undefined, { ref: false }).then(() => assert.fail('no relayed datagram within 10 s')),
  ]);
  assert.equal(result.done, false);
  return result.value as TurnDatagram;
}

describe('TurnClient against coturn', { skip }, () => {
  let coturn: Coturn;
  const sockets: Socket[] = [];
  const clients: TurnClient[] = [];
  const options = (socket: Socket, extra: Partial<TurnClientOptions> = {}): TurnClientOptions => ({
    server: { address: '127.0.0.1', port: coturn.port },
    username: TURN_USER,
    password: TURN_PASSWORD,
    demux: demuxOf(socket),
    signal: AbortSignal.timeout(15_000),
    ...extra,
  });
  async function open(extra: Partial<TurnClientOptions> = {}): Promise<{ socket: Socket; turn: TurnClient }> {
    const socket = await udp();
    sockets.push(socket);
    const turn = await TurnClient.allocate(options(socket, extra));
    clients.push(turn);
    return { socket, turn };
  }
  async function peer(address = '127.0.0.1'): Promise<Peer> {
    const socket = await udp(address);
    sockets.push(socket);
    return new Peer(socket);
  }

  before(async () => {
    coturn = await startCoturn(['--stale-nonce=2']);
  });
  after(async () => {
    for (const client of clients) await client.close();
    for (const socket of sockets) {
      demuxOf(socket).detach();
      socket.close();
    }
    await coturn?.close();
  });

  it('allocates through the 401 dance and reports relayed and mapped addresses', async () => {
    const { socket, turn } = await open();
    assert.equal(turn.relayedAddress.address, '127.0.0.1');
    assert.ok(turn.relayedAddress.port >= coturn.relayMin && turn.relayedAddress.port <= coturn.relayMax);
    assert.deepEqual(turn.mappedAddress, {
      family: 'IPv4',
      address: '127.0.0.1',
      port: socket.address().port,
    });
    assert.ok(turn.lifetimeS > 0);
    const stats = turn.stats();
    assert.equal(stats.state, 'allocated');
    assert.ok(stats.transactions.matched >= 2, 'an unauthenticated Allocate, then an authenticated one');
  });

  it('a wrong password rejects with ERR_TURN_AUTH_FAILED', async () => {
    const socket = await udp();
    sockets.push(socket);
    await assert.rejects(TurnClient.allocate(options(socket, { password: 'wrong' })), {
      code: 'ERR_TURN_AUTH_FAILED',
      status: 401,
    });
  });

  it('relays both ways with Send/Data indications, then with ChannelData', async () => {
    const { turn } = await open();
    const p = await peer();
    const iterator = turn[Symbol.asyncIterator]();
    await turn.createPermission(p.address);
    turn.send(Buffer.from('ping-1'), p);
    await p.next(1);
    assert.equal(p.received[0]!.data, 'ping-1');
    assert.equal(p.received[0]!.from.port, turn.relayedAddress.port, 'arrives from the relayed address');
    p.socket.send('pong-1', turn.relayedAddress.port, turn.relayedAddress.address);
    const first = await nextDatagram(iterator);
    assert.equal(first.data.toString(), 'pong-1');
    assert.deepEqual(first.from, { family: 'IPv4', address: p.address, port: p.port });
    assert.equal(turn.stats().indicationsReceived, 1);

    const channel = await turn.bindChannel(p);
    assert.ok(channel >= 0x4000 && channel <= 0x4fff);
    turn.send(Buffer.from('ping-2'), p);
    await p.next(2);
    assert.equal(p.received[1]!.data, 'ping-2');
    p.socket.send('pong-2', turn.relayedAddress.port, turn.relayedAddress.address);
    const second = await nextDatagram(iterator);
    assert.equal(second.data.toString(), 'pong-2');
    assert.equal(second.from.port, p.port);
    const stats = turn.stats();
    assert.equal(stats.sentIndications, 1);
    assert.equal(stats.sentChannelData, 1);
    assert.equal(stats.channelDataReceived, 1);
  });

  it('relays nothing from a peer IP without a permission', async () => {
    const { turn } = await open();
    const allowed = await peer('127.0.0.1');
    const stranger = await peer('127.0.0.2');
    await turn.createPermission(allowed.address);
    const iterator = turn[Symbol.asyncIterator]();
    const relayed = turn.relayedAddress;
    // The stranger's datagrams reach the relay first; only the allowed peer's marker comes through.
    for (let i = 0; i < 5; i++) stranger.socket.send(`stranger-${i}`, relayed.port, relayed.address);
    await sleep(50);
    allowed.socket.send('allowed', relayed.port, relayed.address);
    const got = await nextDatagram(iterator);
    assert.equal(got.data.toString(), 'allowed');
    assert.equal(got.from.address, '127.0.0.1');
    // With a permission for 127.0.0.2 the stranger gets through too.
    await turn.createPermission(stranger.address);
    stranger.socket.send('now-allowed', relayed.port, relayed.address);
    const later = await nextDatagram(iterator);
    assert.equal(later.data.toString(), 'now-allowed');
    assert.equal(later.from.address, '127.0.0.2');
  });

  it('refreshes the allocation on schedule, answering 438 Stale Nonce with the new nonce', async () => {
    // refreshRatio 0.001 of coturn's 600 s: a Refresh every 0.6 s; coturn's nonces go stale after 2 s.
    const { turn } = await open({ refreshRatio: 0.001 });
    const p = await peer();
    await turn.createPermission(p.address);
    for (let i = 0; i < 200 && (turn.stats().refreshes < 3 || turn.stats().staleNonces < 1); i++) {
      await sleep(100);
    }
    const stats = turn.stats();
    assert.ok(stats.refreshes >= 3, `refreshes: ${stats.refreshes}`);
    assert.ok(stats.staleNonces >= 1, `stale nonces: ${stats.staleNonces}`);
    assert.equal(stats.state, 'allocated');
    turn.send(Buffer.from('still-here'), p);
    await p.next(1);
    assert.equal(p.received[0]!.data, 'still-here');
  });

  it('close sends Refresh 0: the server frees the 5-tuple (437 before, a new allocation after)', async () => {
    const { socket, turn } = await open();
    const sameTuple = options(socket, { signal: AbortSignal.timeout(15_000) });
    await assert.rejects(TurnClient.allocate(sameTuple), { code: 'ERR_TURN_REQUEST_FAILED', status: 437 });
    await turn.close();
    await turn.close(); // idempotent
    const stats = turn.stats();
    assert.equal(stats.state, 'closed');
    assert.equal(stats.transactions.timeouts, 0, 'the Refresh 0 was answered');
    assert.throws(() => turn.send(Buffer.from('x'), { address: '127.0.0.1', port: 9 }), {
      code: 'ERR_CLOSED',
    });
    // coturn deletes the session a moment after Refresh 0 (about a second); retry a bounded number of times.
    let again: TurnClient | undefined;
    for (let i = 0; i < 40 && again === undefined; i++) {
      try {
        again = await TurnClient.allocate(sameTuple);
      } catch (error) {
        assert.equal((error as { status?: number }).status, 437);
        await sleep(250);
      }
    }
    assert.ok(again !== undefined, 'the 5-tuple was allocated again after close');
    clients.push(again);
  });

  it('shares one socket with a StunClient and a StunServer through one Demux', async () => {
    const socket = await udp();
    sockets.push(socket);
    const demux = demuxOf(socket);
    const stun = new StunClient({ demux });
    const server = new StunServer({ demux, rateLimit: false });
    const turn = await TurnClient.allocate(options(socket));
    clients.push(turn);
    const binding = await stun.binding({ to: { address: '127.0.0.1', port: coturn.port } });
    assert.equal(binding.mapped?.port, socket.address().port);
    // A STUN request from elsewhere reaches the server on the same socket.
    const asker = await udp();
    sockets.push(asker);
    const askerClient = new StunClient({ demux: demuxOf(asker) });
    const asked = await askerClient.binding({ to: { address: '127.0.0.1', port: socket.address().port } });
    askerClient.close();
    assert.equal(asked.mapped?.port, asker.address().port);
    assert.equal(server.stats().responses, 1);
    const routed = demux.stats().stun;
    assert.equal(routed.requests, 1, 'one request, to the server');
    assert.ok(
      routed.responses >= 3,
      'the Allocate responses went to TURN and the Binding response to the client',
    );
    assert.equal(routed.unclaimedRequests + routed.unclaimedIndications, 0);
    // A response goes unclaimed only as the answer to a retransmission whose transaction had ended.
    const retransmits = turn.stats().transactions.retransmits + stun.stats().retransmits;
    assert.ok(routed.unclaimedResponses <= retransmits, `${routed.unclaimedResponses} unclaimed responses`);
    const p = await peer();
    await turn.bindChannel(p);
    const iterator = turn[Symbol.asyncIterator]();
    p.socket.send('over-demux', turn.relayedAddress.port, turn.relayedAddress.address);
    assert.equal((await nextDatagram(iterator)).data.toString(), 'over-demux');
    assert.ok(demux.stats().byFirstByte[0x40]! >= 1, 'ChannelData routed by the demux');
    await turn.close();
    stun.close();
    await server.close();
  });
});
