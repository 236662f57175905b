import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { PunchSockets } from '../../src/punch/sockets.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

async function udpHandles(): Promise<number> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

describe('PunchSockets (prediction sockets on real UDP)', () => {
  it('opens n sockets, routes punch frames by index, keeps one and releases the rest', async () => {
    const before = await udpHandles();
    const got: [number, string][] = [];
    const set = new PunchSockets({
      family: 'udp4',
      address: '127.0.0.1',
      onDatagram: (index, data) => got.push([index, data.subarray(1).toString()]),
    });
    assert.equal(await set.open(8), 8);
    assert.equal(set.size, 8);
    assert.equal(await udpHandles(), before + 8);
    const sender = createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    const port = (set.get(3)!.address() as { port: number }).port;
    await new Promise<void>((resolve) =>
      sender.send(Buffer.from('\x04three'), port, '127.0.0.1', () => resolve()),
    );
    await new Promise<void>((resolve) =>
      sender.send(Buffer.from('\x05not-punch'), port, '127.0.0.1', () => resolve()),
    );
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [[3, 'three']]);
    await set.close(3);
    assert.equal(set.size, 1);
    assert.ok(set.get(3) !== undefined);
    assert.equal(set.peak, 8);
    await set.close(null);
    assert.equal(set.size, 0);
    await new Promise<void>((resolve) => sender.close(() => resolve()));
    assert.equal(await udpHandles(), before, 'every socket released');
  });

  it('stops opening when the signal fires', async () => {
    const set = new PunchSockets({ family: 'udp4', address: '127.0.0.1', onDatagram: () => {} });
    const controller = new AbortController();
    controller.abort();
    assert.equal(await set.open(4, controller.signal), 0);
    await set.close(null);
  });
});
