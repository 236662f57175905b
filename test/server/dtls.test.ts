// UdpServer({ dtls }): sessions exist only after the DTLS cookie exchange and are handed out once
// their handshake completed; their datagrams are records. The flood harness (real processes, every
// client datagram sent twice) in shared and connected mode: one session per source, every record
// echoed in order, duplicated ClientHellos that reach the listener after the handover routed to
// their session. A ClientHello flood from many ports keeps no state and is never amplified.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type DtlsCertificate,
  DtlsConnection,
  DtlsErrorCode,
  generateCertificate,
} from '../../src/dtls/index.ts';
import {
  isReusePortAvailable,
  ServerDiagnostics,
  type ServerDtlsHandshakeMessage,
  type ServerModeValue,
  totalDrops,
  UdpServer,
} from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { runFlood } from './helpers.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
const dtlsFloodScript = fileURLToPath(new URL('./fixtures/dtls-flood-client.ts', import.meta.url));
let certificate: DtlsCertificate;
let other: DtlsCertificate;
before(async () => {
  certificate = await generateCertificate();
  other = await generateCertificate();
});

async function echoServer(mode: ServerModeValue = 'shared'): Promise<UdpServer> {
  // Handshakes take CPU in bursts: a large receive buffer keeps the kernel from dropping what waits.
  const server = await UdpServer.listen({
    host: LOCAL,
    mode,
    dtls: { certificate },
    backlog: 256,
    recvBufferSize: 4 << 20,
  });
  server.on('session', (session) => session.setReceiver((record) => session.send(record)));
  return server;
}

async function first(connection: DtlsConnection): Promise<Buffer> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(5000) })) return record;
  throw new Error('ended without a record');
}

describe('UdpServer({ dtls })', () => {
  it('a DTLS client gets a session after the cookie exchange and its handshake; records echo', async () => {
    const server = await echoServer();
    after(() => server.close({ graceMs: 0 }));
    const events: ServerDtlsHandshakeMessage[] = [];
    const onEvent = (m: unknown): void => {
      events.push(m as ServerDtlsHandshakeMessage);
    };
    subscribe(ServerDiagnostics.DTLS_HANDSHAKE, onEvent);
    after(() => unsubscribe(ServerDiagnostics.DTLS_HANDSHAKE, onEvent));
    const client = await DtlsConnection.connect({
      remote: { address: LOCAL, port: server.port },
      fingerprints: [certificate.fingerprint],
    });
    client.send(Buffer.from('hello'));
    assert.equal(String(await first(client)), 'hello');
    const stats = server.stats();
    assert.equal(stats.sessions, 1);
    assert.equal(stats.cookiesSent, 1, 'one HelloVerifyRequest');
    assert.equal(stats.cookiesVerified, 1);
    assert.equal(stats.dtlsHandshakes, 1);
    assert.ok(stats.unverifiedBytesOut <= stats.unverifiedBytesIn);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.ok, true);
    assert.equal(events[0]!.cipherSuite, client.cipherSuite);
    await client.close();
    await waitFor(() => server.size === 0, { what: 'close_notify ends the session', timeoutMs: 5000 });
  });

  it('the session carries its DTLS connection; server.close() sends close_notify', async () => {
    const server = await UdpServer.listen({
      host: LOCAL,
      dtls: { certificate, clientAuth: 'require', fingerprints: [other.fingerprint] },
    });
    const accepted = server[Symbol.asyncIterator]().next();
    const client = await DtlsConnection.connect({
      remote: { address: LOCAL, port: server.port },
      certificate: other,
      fingerprints: [certificate.fingerprint],
    });
    const session = (await accepted).value!;
    assert.equal(session.dtls?.cipherSuite, client.cipherSuite);
    assert.equal(
      session.dtls?.peerCertificates[0]?.fingerprint256,
      other.fingerprint.replace(/^sha-256 /, ''),
    );
    await server.close({ graceMs: 0 });
    await waitFor(() => client.state === 'closed', { what: 'close_notify at the client', timeoutMs: 5000 });
    await client.close();
  });

  it('a client that rejects the certificate: the handshake fails, no session is handed out', async () => {
    const server = await echoServer();
    after(() => server.close({ graceMs: 0 }));
    let handedOut = 0;
    server.on('session', () => handedOut++);
    await assert.rejects(
      DtlsConnection.connect({
        remote: { address: LOCAL, port: server.port },
        fingerprints: [other.fingerprint],
      }),
      { code: DtlsErrorCode.CERTIFICATE_REJECTED },
    );
    await waitFor(() => server.stats().dtlsHandshakeFailures === 1, { what: 'a failure', timeoutMs: 5000 });
    assert.equal(handedOut, 0);
    assert.equal(server.size, 0);
  });

  it('a ClientHello flood from 200 ports keeps no state and is never amplified; other bytes are dropped', async () => {
    const server = await echoServer();
    after(() => server.close({ graceMs: 0 }));
    // A real ClientHello without a cookie: taken from a client's first datagram.
    const captured = Promise.withResolvers<Buffer>();
    const tap = createSocket('udp4');
    await new Promise<void>((resolve) => tap.bind(0, LOCAL, resolve));
    tap.once('message', (m) => captured.resolve(m));
    const pending = DtlsConnection.connect({
      remote: { address: LOCAL, port: tap.address().port },
      fingerprints: [certificate.fingerprint],
      handshakeTimeoutMs: 200,
    }).catch(() => undefined);
    const clientHello = await captured.promise;
    await pending;
    tap.close();
    const sockets: Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, LOCAL, resolve));
      sockets.push(s);
    }
    after(() => {
      for (const s of sockets) s.close();
    });
    for (const s of sockets) {
      s.send(clientHello, server.port, LOCAL);
      s.send(Buffer.from([0x17, 0xfe, 0xfd, 0, 0]), server.port, LOCAL); // a stray record header
    }
    await waitFor(() => server.stats().datagramsIn >= 400, { what: '400 datagrams read', timeoutMs: 5000 });
    const stats = server.stats();
    assert.equal(stats.sessions, 0);
    assert.equal(stats.sessionsCreated, 0);
    assert.equal(stats.cookiesSent, 200);
    assert.equal(stats.drops.unverified, 200);
    assert.ok(stats.unverifiedBytesOut <= stats.unverifiedBytesIn, JSON.stringify(stats));
    assert.equal(stats.datagramsIn, stats.delivered + stats.control + totalDrops(stats.drops));
  });

  it('refuses cookie together with dtls', async () => {
    await assert.rejects(UdpServer.listen({ host: LOCAL, cookie: true, dtls: { certificate } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'cookie',
    });
  });

  const modes: ServerModeValue[] = isReusePortAvailable() ? ['shared', 'connected'] : ['shared'];
  for (const mode of modes) {
    it(`flood harness, ${mode} mode: 24 DTLS sources in 3 processes, every datagram sent twice`, async () => {
      const server = await echoServer(mode);
      after(() => server.close({ graceMs: 0 }));
      const sessions = new Set<string>();
      server.on('session', (s) => sessions.add(s.key));
      const count = 60;
      const reports = (await runFlood({
        port: server.port,
        processes: 3,
        sockets: 8,
        count,
        window: 8,
        script: {
          path: dtlsFloodScript,
          argv: [LOCAL, String(server.port), '8', String(count), '8', certificate.fingerprint],
        },
      })) as unknown as {
        port: number;
        sent: number;
        echoed: number;
        outOfOrder: number;
        replaysDropped: number;
      }[];
      assert.equal(reports.length, 24);
      const stats = server.stats();
      for (const r of reports) {
        assert.equal(r.echoed, count, `source ${r.port}: ${r.echoed} echoed (${JSON.stringify(stats)})`);
        assert.equal(r.outOfOrder, 0);
        assert.ok(sessions.has(`${LOCAL}:${r.port}`), `source ${r.port} got a session`);
      }
      assert.equal(
        stats.sessionsCreated,
        24,
        'one session per source: retransmitted ClientHellos found theirs',
      );
      assert.equal(stats.dtlsHandshakes, 24);
      assert.equal(stats.dtlsHandshakeFailures, 0);
      assert.equal(stats.dtlsRecordsDropped, 0);
      assert.ok(stats.unverifiedBytesOut <= stats.unverifiedBytesIn);
      // Only the second copies of close_notify, after their session closed, are dropped (unverified).
      assert.equal(totalDrops({ ...stats.drops, unverified: 0 }), 0, `drops: ${JSON.stringify(stats.drops)}`);
      if (mode === 'connected') assert.equal(stats.connectFallbacks, 0);
    });
  }
});
