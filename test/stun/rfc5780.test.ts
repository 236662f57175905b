// RFC 5780 server on 127.0.0.1 and 127.0.0.2 (all of 127/8 is loopback on Linux): CHANGE-REQUEST
// responses must come from the right address and port, OTHER-ADDRESS and RESPONSE-ORIGIN must match.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { demuxOf } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { StunClient, StunServer } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const A = '127.0.0.1';
const B = '127.0.0.2';

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

describe('RFC 5780 server on two loopback addresses × two ports', {
  skip: process.platform !== 'linux' ? 'needs Linux: 127.0.0.2 is loopback there' : false,
}, () => {
  let server: StunServer;
  let socket: Socket;
  let client: StunClient;
  before(async () => {
    server = await StunServer.listen({ listen: { address: A }, alternate: { address: B }, rateLimit: false });
    socket = await bindUdpSocket({ family: 'udp4', address: A, port: 0 });
    client = new StunClient({ demux: demuxOf(socket) });
  });
  after(async () => {
    client.close();
    await closeSocket(socket);
    await server.close();
  });

  it('binds A:p, A:p+1, B:p, B:p+1', () => {
    const [ap, ap1, bp, bp1] = server.addresses;
    assert.ok(server.rfc5780);
    assert.equal(ap!.address, A);
    assert.equal(ap1!.address, A);
    assert.equal(bp!.address, B);
    assert.equal(bp1!.address, B);
    assert.equal(ap1!.port, ap!.port + 1);
    assert.equal(bp!.port, ap!.port);
    assert.equal(bp1!.port, ap!.port + 1);
  });

  const cases = [
    { name: 'no change', changeIp: false, changePort: false, from: 0 },
    { name: 'change port', changeIp: false, changePort: true, from: 1 },
    { name: 'change IP', changeIp: true, changePort: false, from: 2 },
    { name: 'change IP and port', changeIp: true, changePort: true, from: 3 },
  ];
  for (const c of cases) {
    it(`${c.name}: the response comes from socket ${c.from}, RESPONSE-ORIGIN says so`, async () => {
      const primary = server.addresses[0]!;
      const expected = server.addresses[c.from]!;
      const result = await client.binding({ to: primary, changeIp: c.changeIp, changePort: c.changePort });
      assert.deepEqual(result.from, { family: 'IPv4', address: expected.address, port: expected.port });
      assert.deepEqual(result.responseOrigin, { family: 'IPv4', ...expected });
      assert.deepEqual(result.otherAddress, { family: 'IPv4', ...server.addresses[3]! });
      assert.deepEqual(result.mapped, { family: 'IPv4', address: A, port: socket.address().port });
    });
  }
  it('a request to the alternate address reports OTHER-ADDRESS = primary address and port', async () => {
    const result = await client.binding({ to: server.addresses[3]! });
    assert.deepEqual(result.otherAddress, { family: 'IPv4', ...server.addresses[0]! });
    assert.deepEqual(result.from, { family: 'IPv4', ...server.addresses[3]! });
  });
  it('RESPONSE-PORT: the response goes to another socket of the same IP', async () => {
    const other = await bindUdpSocket({ family: 'udp4', address: A, port: 0 });
    try {
      const arrived = new Promise<Buffer>((resolve) => other.once('message', (data) => resolve(data)));
      const controller = new AbortController();
      const pending = client.binding({
        to: server.addresses[0]!,
        responsePort: other.address().port,
        signal: controller.signal,
      });
      const data = await arrived;
      assert.deepEqual(data.subarray(0, 2), Buffer.from([0x01, 0x01]), 'a Binding success response');
      controller.abort(); // the response went to the other socket, so this request will never complete
      await assert.rejects(pending, { code: 'ERR_ABORTED' });
    } finally {
      await closeSocket(other);
    }
  });
  it('PADDING is echoed with the same length', async () => {
    const { getPaddingLength } = await import('../../src/stun/index.ts');
    const result = await client.binding({ to: server.addresses[0]!, paddingBytes: 200 });
    assert.equal(getPaddingLength(result.message), 200);
  });
});
