import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { isReusePortAvailable, type ServerModeValue, totalDrops, UdpServer } from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { runFlood } from './helpers.ts';

checkLeaks();

const PROCESSES = 4;
const SOCKETS = 16;
const COUNT = 300;
const WINDOW = 32;

/**
 * 64 sources in 4 real processes flood a server while it accepts them (sources start staggered,
 * sessions are taken from the iterator while datagrams keep coming). The server echoes; each source
 * keeps at most WINDOW datagrams unanswered, so the kernel's buffers never overflow and every
 * datagram must be accounted for by the server: delivered in order, or dropped under a name.
 */
async function floodServer(mode: ServerModeValue, port: number): Promise<void> {
  const server = await UdpServer.listen({
    host: '127.0.0.1',
    port,
    mode,
    cookie: false,
    backlog: 256,
    sessionQueue: 1024,
    recvBufferSize: 4 << 20,
  });
  const received = new Map<string, number[]>();
  const accepting = (async () => {
    for await (const session of server) {
      const seqs: number[] = [];
      received.set(session.key, seqs);
      // Accept slowly: datagrams queue in the session until the receiver is set.
      await new Promise((resolve) => setImmediate(resolve));
      session.setReceiver((data) => {
        seqs.push(data.readUInt32BE(1));
        session.send(data);
      });
    }
  })();
  try {
    const reports = await runFlood({
      port,
      processes: PROCESSES,
      sockets: SOCKETS,
      count: COUNT,
      window: WINDOW,
      staggerMs: 3,
    });
    assert.equal(reports.length, PROCESSES * SOCKETS);
    const stats = server.stats();
    let sent = 0;
    for (const report of reports) {
      sent += report.sent;
      const seqs = received.get(`127.0.0.1:${report.port}`);
      assert.ok(seqs, `no session for source ${report.port}`);
      assert.equal(
        report.sent,
        COUNT,
        `source ${report.port} stalled at ${report.sent} (stats ${JSON.stringify(stats)})`,
      );
      for (let i = 0; i < seqs.length; i++)
        assert.equal(seqs[i], i, `source ${report.port}: datagram ${i} out of order`);
      assert.equal(
        seqs.length,
        report.sent,
        `source ${report.port}: sent ${report.sent}, delivered ${seqs.length}`,
      );
      assert.equal(report.outOfOrder, 0);
    }
    assert.equal(stats.sessionsCreated, PROCESSES * SOCKETS);
    assert.equal(stats.delivered, sent);
    assert.equal(totalDrops(stats.drops), 0, `drops: ${JSON.stringify(stats.drops)}`);
    assert.equal(stats.datagramsIn, stats.delivered + stats.control + totalDrops(stats.drops));
    if (mode === 'connected') {
      assert.equal(stats.connectFallbacks, 0);
      assert.equal(stats.handoverTimeouts, 0);
      assert.ok(stats.control >= 1, 'drain markers were used');
    }
  } finally {
    await server.close({ graceMs: 0 });
    await accepting;
  }
}

describe('flood: 64 sources in 4 processes while sessions are accepted', () => {
  const servers: UdpServer[] = [];
  after(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
  });

  test('shared mode: every datagram delivered in order per source, none dropped', async () => {
    await floodServer('shared', 63510);
  });

  test('connected mode: no datagram lost or reordered across the listener → connected-socket handover', {
    skip: isReusePortAvailable() ? false : 'needs SO_REUSEPORT (Linux, Node >= 22.12)',
  }, async () => {
    await floodServer('connected', 63511);
  });
});
