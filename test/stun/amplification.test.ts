// The 3× bound of RFC 5780 §9.1 measured on the wire: a bare 20-byte Binding request over IPv4 and
// IPv6, with and without RFC 5780 and SOFTWARE, never gets more than 60 bytes back; a socket named by
// RESPONSE-PORT never receives more than 3× what the requester sent; RESPONSE-PORT 0 is refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { demuxOf } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import {
  decodeStun,
  encodeStun,
  getXorMappedAddress,
  makeResponsePort,
  StunAttr,
  StunClass,
  StunMethod,
  StunServer,
} from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** A Binding request with `extra` attributes; bare (20 bytes) when there are none. */
function bindingRequest(extra: Parameters<typeof encodeStun>[0]['attributes'] = []): Buffer {
  return encodeStun({
    method: StunMethod.BINDING,
    class: StunClass.REQUEST,
    transactionId: randomBytes(12),
    attributes: extra,
  });
}

/** An unknown comprehension-optional attribute (ignored by the server) that makes a request bigger. */
function filler(bytes: number) {
  return {
    type: 0x8fff,
    length: bytes,
    write(message: Buffer, offset: number) {
      message.fill(0, offset, offset + bytes);
    },
  };
}

async function ipv6Available(): Promise<boolean> {
  try {
    const s = await bindUdpSocket({ family: 'udp6', address: '::1', port: 0 });
    await closeSocket(s);
    return true;
  } catch {
    return false;
  }
}

/** Four sockets on one address: an RFC 5780 server where A and B share an IP (fine for sizes). */
async function bindServerSockets(address: string, count: 1 | 4): Promise<Socket[]> {
  const family = address.includes(':') ? 'udp6' : 'udp4';
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) sockets.push(await bindUdpSocket({ family, address, port: 0 }));
  return sockets;
}

const hasV6 = await ipv6Available();

for (const address of ['127.0.0.1', '::1']) {
  describe(`a bare 20-byte Binding request over ${address}`, {
    skip: address === '::1' && !hasV6 ? 'no IPv6 loopback on this machine' : false,
  }, () => {
    for (const rfc5780 of [false, true]) {
      for (const software of [undefined, 'porthole', 'a-much-longer-software-description/1.2.3']) {
        it(`${rfc5780 ? 'RFC 5780' : 'one socket'}, SOFTWARE ${software ?? 'none'}: reply ≤ 60 bytes on the wire`, {
          timeout: 10_000,
        }, async (t) => {
          const sockets = await bindServerSockets(address, rfc5780 ? 4 : 1);
          const server = new StunServer({
            demux: sockets.map(demuxOf),
            ownsSockets: true,
            rateLimit: false,
            ...(software !== undefined ? { software } : {}),
          });
          const client = await bindUdpSocket({
            family: address.includes(':') ? 'udp6' : 'udp4',
            address,
            port: 0,
          });
          t.after(async () => {
            await closeSocket(client);
            await server.close();
          });
          const request = bindingRequest();
          assert.equal(request.length, 20);
          const reply = once(client, 'message') as Promise<[Buffer, unknown]>;
          client.send(request, server.addresses[0]!.port, address);
          const [data] = await reply;
          assert.ok(data.length <= 3 * request.length, `${data.length} bytes in reply to 20`);
          // Still a useful answer: the mapped address is there and right.
          const message = decodeStun(data);
          assert.equal(message.class, StunClass.SUCCESS_RESPONSE);
          assert.equal(getXorMappedAddress(message)?.port, client.address().port);
          const stats = server.stats();
          assert.equal(stats.responses, 1);
          if (software !== undefined && message.attributes.every((a) => a.type !== StunAttr.SOFTWARE)) {
            assert.equal(stats.softwareRefused, 1);
          }
        });
      }
    }
  });
}

describe('a larger request earns the optional attributes back', () => {
  it('RFC 5780 over IPv4 with SOFTWARE: a 40-byte request gets OTHER-ADDRESS, RESPONSE-ORIGIN and SOFTWARE', async (t) => {
    const sockets = await bindServerSockets('127.0.0.1', 4);
    const server = new StunServer({
      demux: sockets.map(demuxOf),
      ownsSockets: true,
      rateLimit: false,
      software: 'porthole',
    });
    const client = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    t.after(async () => {
      await closeSocket(client);
      await server.close();
    });
    const request = bindingRequest([filler(16)]);
    const reply = once(client, 'message') as Promise<[Buffer, unknown]>;
    client.send(request, server.addresses[0]!.port, '127.0.0.1');
    const [data] = await reply;
    assert.ok(data.length <= 3 * request.length);
    const types = decodeStun(data).attributes.map((a) => a.type);
    for (const type of [StunAttr.OTHER_ADDRESS, StunAttr.RESPONSE_ORIGIN, StunAttr.SOFTWARE]) {
      assert.ok(types.includes(type), `attribute 0x${type.toString(16)} missing`);
    }
  });
});

describe('RESPONSE-PORT', () => {
  let sockets: Socket[];
  let server: StunServer;
  let requester: Socket;
  let victim: Socket;
  before(async () => {
    sockets = await bindServerSockets('127.0.0.1', 4);
    server = new StunServer({
      demux: sockets.map(demuxOf),
      ownsSockets: true,
      rateLimit: false,
      software: 'a-much-longer-software-description/1.2.3',
    });
    requester = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    victim = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await closeSocket(requester);
    await closeSocket(victim);
    await server.close();
  });

  it('the socket it names never receives more than 3× what the requester sent', {
    timeout: 10_000,
  }, async () => {
    let received = 0;
    const marker = bindingRequest([makeResponsePort(victim.address().port), filler(200)]);
    const markerId = marker.subarray(8, 20);
    const done = new Promise<void>((resolve) => {
      victim.on('message', (data: Buffer) => {
        received += data.length;
        if (data.subarray(8, 20).equals(markerId)) resolve();
      });
    });
    let sent = 0;
    for (const extra of [0, 4, 8, 12, 16, 24, 32]) {
      const request = bindingRequest(
        extra === 0
          ? [makeResponsePort(victim.address().port)]
          : [makeResponsePort(victim.address().port), filler(extra)],
      );
      sent += request.length;
      requester.send(request, server.addresses[0]!.port, '127.0.0.1');
    }
    sent += marker.length;
    requester.send(marker, server.addresses[0]!.port, '127.0.0.1');
    await done; // loopback keeps order: every earlier reply (if any) has arrived
    assert.ok(received > 0);
    assert.ok(received <= 3 * sent, `${received} bytes at the victim for ${sent} sent`);
  });

  it('RESPONSE-PORT 0 is refused with 400 to the source, counted', { timeout: 10_000 }, async () => {
    const request = Buffer.from(bindingRequest([makeResponsePort(1)]));
    request.writeUInt16BE(0, 24); // port 0 (makeResponsePort refuses to build it)
    const before = server.stats().responsePortRefused;
    const reply = once(requester, 'message') as Promise<[Buffer, unknown]>;
    requester.send(request, server.addresses[0]!.port, '127.0.0.1');
    const [data] = await reply;
    assert.equal(decodeStun(data).class, StunClass.ERROR_RESPONSE);
    assert.ok(data.length <= 3 * request.length);
    assert.equal(server.stats().responsePortRefused, before + 1);
  });
});
