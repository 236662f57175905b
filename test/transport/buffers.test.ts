import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  BUFFER_CLAMPED_WARNING,
  DEFAULT_SOCKET_BUFFER_BYTES,
  MediaTransport,
} from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

function sysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

const rmemMax = sysctl('rmem_max');
const wmemMax = sysctl('wmem_max');
const skip = rmemMax === undefined || wmemMax === undefined ? 'needs Linux /proc/sys/net/core' : false;

describe('socket buffers', { skip }, () => {
  test('the default 2 MiB is applied to every socket when the kernel allows it', async (t) => {
    if (rmemMax! < DEFAULT_SOCKET_BUFFER_BYTES || wmemMax! < DEFAULT_SOCKET_BUFFER_BYTES) {
      t.skip(`rmem_max/wmem_max below 2 MiB here (${rmemMax}/${wmemMax})`);
      return;
    }
    await using tr = await MediaTransport.listenEphemeralPair('127.0.0.1');
    for (const socket of [tr.media.socket, tr.rtcp.socket]) {
      assert.equal(socket.getRecvBufferSize(), 2 * DEFAULT_SOCKET_BUFFER_BYTES, 'Linux reports double');
      assert.equal(socket.getSendBufferSize(), 2 * DEFAULT_SOCKET_BUFFER_BYTES);
    }
  });

  test('a clamped buffer is reported once per process with the sysctl that fixes it', async () => {
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (w: Error & { code?: string }): void => {
      if (w.code === BUFFER_CLAMPED_WARNING) warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const asked = rmemMax! + 65_536;
      await using a = await MediaTransport.listenEphemeralPair('127.0.0.1', {
        recvBufferSize: asked,
        sendBufferSize: 0,
      });
      await using b = await MediaTransport.listenEphemeralSingle('127.0.0.1', {
        recvBufferSize: asked,
        sendBufferSize: 0,
      });
      assert.ok(a.media.socket.getRecvBufferSize() < 2 * asked);
      assert.ok(b.media.socket.getRecvBufferSize() < 2 * asked);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 1, 'once, however many sockets are clamped');
      assert.match(warnings[0]!.message, new RegExp(`sysctl -w net\\.core\\.rmem_max=${asked}`));
      assert.match(warnings[0]!.message, /SO_RCVBUF/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('0 keeps the system default buffer', async () => {
    await using tr = await MediaTransport.listenEphemeralSingle('127.0.0.1', {
      recvBufferSize: 0,
      sendBufferSize: 0,
    });
    const def = sysctl('rmem_default');
    if (def !== undefined) assert.equal(tr.media.socket.getRecvBufferSize(), def);
  });
});
