// DTLS over a DatagramLink (connectDtlsLink, DtlsLinkAcceptor): an in-memory link pair and two real
// loopback sockets joined by demuxLink. The acceptor runs the stateless cookie exchange on its link
// first; a shared DtlsHelloVerifier accepts a ClientHello whose cookie another path gave out.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import {
  connectDtlsLink,
  type DtlsCertificate,
  type DtlsConnection,
  DtlsErrorCode,
  DtlsHelloVerifier,
  DtlsLinkAcceptor,
  generateCertificate,
} from '../../src/dtls/index.ts';
import type { DatagramLink } from '../../src/internal/datagram-link.ts';
import { DTLS_RANGE, demuxLink, demuxOf } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

checkLeaks();

let certificate: DtlsCertificate;
let other: DtlsCertificate;
before(async () => {
  certificate = await generateCertificate();
  other = await generateCertificate();
});

/** Two in-memory links joined back to back; `tap` sees every datagram a→b and b→a. */
function linkPair(tap?: (direction: 'ab' | 'ba', data: Buffer) => void): [DatagramLink, DatagramLink] {
  const handlers: [((d: Buffer) => void) | undefined, ((d: Buffer) => void) | undefined] = [
    undefined,
    undefined,
  ];
  const make = (self: 0 | 1): DatagramLink => ({
    send(data) {
      const copy = Buffer.from(data);
      tap?.(self === 0 ? 'ab' : 'ba', copy);
      setImmediate(() => handlers[self === 0 ? 1 : 0]?.(copy));
    },
    onDatagram(handler) {
      handlers[self] = handler;
      return {
        remove: () => {
          if (handlers[self] === handler) handlers[self] = undefined;
        },
      };
    },
  });
  return [make(0), make(1)];
}

async function first(connection: DtlsConnection): Promise<Buffer> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(5000) })) return record;
  throw new Error('ended without a record');
}

describe('dtls over a link', () => {
  it('a client and an acceptor on an in-memory link: cookie exchange, data both ways, close_notify', async () => {
    const seen: { direction: string; type: number; handshake: number }[] = [];
    const [a, b] = linkPair((direction, d) => seen.push({ direction, type: d[0]!, handshake: d[13] ?? -1 }));
    const acceptor = new DtlsLinkAcceptor({ certificate });
    const accepted = acceptor.accept(b, { remote: { address: '192.0.2.1', port: 1 } });
    const client = await connectDtlsLink({ link: a, fingerprints: [certificate.fingerprint] });
    const server = await accepted;
    assert.equal(client.cipherSuite, server.cipherSuite);
    assert.equal(server.remote.address, '192.0.2.1');
    // The first answer of the server is a HelloVerifyRequest (handshake type 3).
    assert.deepEqual(
      seen.find((s) => s.direction === 'ba'),
      { direction: 'ba', type: 22, handshake: 3 },
    );
    client.send(Buffer.from('ping'));
    assert.equal(String(await first(server)), 'ping');
    const got: string[] = [];
    client.setReceiver((r) => got.push(String(r)));
    server.send(Buffer.from('pong'));
    await waitFor(() => got.length === 1, { what: 'pong at the client', timeoutMs: 5000 });
    assert.deepEqual(got, ['pong']);
    await client.close();
    await waitFor(() => server.state === 'closed', { what: 'close_notify at the server', timeoutMs: 5000 });
    await server.close();
  });

  it('a wrong pin fails the client with ERR_DTLS_CERTIFICATE_REJECTED and the acceptor rejects', async () => {
    const [a, b] = linkPair();
    const acceptor = new DtlsLinkAcceptor({ certificate, handshakeTimeoutMs: 3000 });
    const accepted = acceptor.accept(b);
    accepted.catch(() => {});
    await assert.rejects(connectDtlsLink({ link: a, fingerprints: [other.fingerprint] }), {
      code: DtlsErrorCode.CERTIFICATE_REJECTED,
    });
    await assert.rejects(
      accepted,
      (e: Error & { code?: string }) => e.code?.startsWith('ERR_DTLS_') === true,
    );
  });

  it('an acceptor without a ClientHello rejects with ERR_DTLS_HANDSHAKE_TIMEOUT; a signal ends it at once', async () => {
    const [, b] = linkPair();
    const acceptor = new DtlsLinkAcceptor({ certificate, handshakeTimeoutMs: 50 });
    await assert.rejects(acceptor.accept(b), { code: DtlsErrorCode.HANDSHAKE_TIMEOUT });
    const controller = new AbortController();
    const pending = acceptor.accept(b, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'ERR_ABORTED' });
  });

  it('a shared verifier: a ClientHello whose cookie another path gave out starts the session at once', async () => {
    const fromServer: number[] = [];
    const [a, b] = linkPair((direction, d) => {
      if (direction === 'ba' && d[0] === 22) fromServer.push(d[13]!);
    });
    const acceptor = new DtlsLinkAcceptor({ certificate });
    const verifier = acceptor.verifier;
    assert.ok(verifier instanceof DtlsHelloVerifier);
    // The cookie exchange runs "on a listener" (this handler); the acceptor gets the link only once
    // a ClientHello with a valid cookie arrived, and that ClientHello is handed to it.
    const from = { address: '198.51.100.9', port: 4000 };
    let accepted: Promise<DtlsConnection> | undefined;
    let acceptorHandler: ((d: Buffer) => void) | undefined;
    const handedOver: DatagramLink = {
      send: (d) => b.send(d),
      onDatagram: (handler) => {
        acceptorHandler = handler;
        return b.onDatagram(handler);
      },
    };
    const listener = b.onDatagram((data) => {
      const verdict = verifier.check(data, from, performance.now());
      if (verdict.kind === 'hello-verify') {
        assert.ok(verdict.reply.length <= data.length, 'no amplification');
        b.send(verdict.reply);
      } else if (verdict.kind === 'verified') {
        listener.remove();
        accepted = acceptor.accept(handedOver, { remote: from });
        acceptorHandler!(data);
      }
    });
    const client = await connectDtlsLink({ link: a, fingerprints: [certificate.fingerprint] });
    const server = await accepted!;
    // One HelloVerifyRequest (3) from the listener, then the acceptor's ServerHello (2): the
    // acceptor did not ask for a second cookie.
    assert.deepEqual(fromServer.slice(0, 2), [3, 2]);
    assert.deepEqual(server.remote, from);
    await Promise.all([client.close(), server.close()]);
  });

  it('over two real sockets joined by demuxLink', async () => {
    const bound = async (): Promise<Socket> => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    const sa = await bound();
    const sb = await bound();
    after(() => {
      sa.close();
      sb.close();
    });
    const la = demuxLink(demuxOf(sa), DTLS_RANGE, { address: '127.0.0.1', port: sb.address().port });
    const lb = demuxLink(demuxOf(sb), DTLS_RANGE, { address: '127.0.0.1', port: sa.address().port });
    const acceptor = new DtlsLinkAcceptor({
      certificate,
      clientAuth: 'require',
      fingerprints: [other.fingerprint],
    });
    const accepted = acceptor.accept(lb, { remote: { address: '127.0.0.1', port: sa.address().port } });
    const client = await connectDtlsLink({
      link: la,
      certificate: other,
      fingerprints: [certificate.fingerprint],
    });
    const server = await accepted;
    assert.equal(server.peerCertificates.length, 1);
    server.send(Buffer.from('over udp'));
    assert.equal(String(await first(client)), 'over udp');
    await Promise.all([client.close(), server.close()]);
  });
});
