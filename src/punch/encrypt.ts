/**
 * The PunchLink encryption option: a DTLS 1.2 session over an established link, on whatever
 * path it takes (direct, predicted, or relayed through TURN — DTLS rides the link's DATA frames,
 * so it survives path changes). The initiator is the DTLS client, the responder the server; each
 * side pins the other's certificate fingerprint (mutual: the server requires a client
 * certificate). The pin comes from the broker's introduction: each {@link PunchPeer} registers its
 * certificate's fingerprint, and the broker hands it to the peers it introduces (docs/punch.md). A
 * certificate other than the pinned one fails with `ERR_DTLS_CERTIFICATE_REJECTED` and closes the
 * link. The DTLS layer is imported when the first link is encrypted.
 * @module
 */
import type { CertificateInput, DtlsCertificate, DtlsCommonOptions, DtlsConnection } from '../dtls/index.ts';
import { type AbortOptions, InvalidOptionError } from '../errors/index.ts';
import { LinkRole } from './broker-wire.ts';
import type { PunchLink } from './link.ts';

/** Options of {@link encryptLink}. */
export interface PunchEncryptionOptions
  extends Omit<DtlsCommonOptions, 'certificate' | 'fingerprints'>,
    AbortOptions {
  /**
   * Our certificate (e.g. `generateCertificate()`). Default the link's {@link PunchLink.certificate}
   * (the `certificate` of its PunchPeer, whose fingerprint the broker introduced us with).
   */
  readonly certificate?: CertificateInput | DtlsCertificate;
  /**
   * The peer's certificate fingerprint (SHA-256, `AB:CD:…`). Default the one the broker introduced
   * ({@link PunchLink.peerFingerprint}); given, it replaces that one.
   */
  readonly peerFingerprint?: string;
}

/**
 * Runs DTLS over `link` once it is up and resolves with the connection: `send()` records, read
 * them with `for await` or `setReceiver`, `close()` sends close_notify (the link stays open).
 * @throws (rejects) DtlsError `ERR_DTLS_CERTIFICATE_REJECTED` (the peer's certificate is not the
 *   pinned one; the link is closed), `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_HANDSHAKE_TIMEOUT`;
 *   PunchFailedError `ERR_PUNCH_FAILED` (no path); InvalidOptionError `peerFingerprint` (none given
 *   and none introduced), `certificate` (none given and the PunchPeer has none); AbortError
 *   `ERR_ABORTED`.
 */
export async function encryptLink(
  link: PunchLink,
  options: PunchEncryptionOptions = {},
): Promise<DtlsConnection> {
  const { peerFingerprint: given, certificate: ours, signal, ...dtls } = options;
  if (given !== undefined && (typeof given !== 'string' || given.length === 0))
    throw new InvalidOptionError(
      'peerFingerprint',
      "peerFingerprint must be the peer's certificate fingerprint",
    );
  const peerFingerprint = given ?? link.peerFingerprint;
  if (peerFingerprint === undefined)
    throw new InvalidOptionError(
      'peerFingerprint',
      `the broker introduced no certificate for ${link.peerId} (its PunchPeer has no certificate): give peerFingerprint`,
    );
  const certificate = ours ?? link.certificate;
  if (certificate === undefined)
    throw new InvalidOptionError(
      'certificate',
      'encryptLink needs our certificate: the PunchPeer certificate option, or certificate (generateCertificate())',
    );
  const common = { ...dtls, certificate, fingerprints: [peerFingerprint] };
  const abort = signal === undefined ? {} : { signal };
  await link.ready(signal);
  // Loaded on first use: a process that never encrypts a link (a live peer) does not hold the DTLS
  // layer's modules (docs/live.md "Memory of a peer").
  const { connectDtlsLink, DtlsLinkAcceptor } = await import('../dtls/index.ts');
  try {
    if (link.role === LinkRole.INITIATOR) return await connectDtlsLink({ ...common, ...abort, link });
    return await new DtlsLinkAcceptor({ ...common, clientAuth: 'require' }).accept(link, abort);
  } catch (error) {
    await link.close();
    throw error;
  }
}
