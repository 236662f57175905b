/**
 * The PunchLink encryption option: a DTLS 1.2 session over an established link, on whatever
 * path it takes (direct, predicted, or relayed through TURN — DTLS rides the link's DATA frames,
 * so it survives path changes). The initiator is the DTLS client, the responder the server; each
 * side pins the other's certificate fingerprint (mutual: the server requires a client
 * certificate). A wrong fingerprint fails with `ERR_DTLS_CERTIFICATE_REJECTED` and closes the link.
 * @module
 */
import {
  type CertificateInput,
  connectDtlsLink,
  type DtlsCertificate,
  type DtlsCommonOptions,
  type DtlsConnection,
  DtlsLinkAcceptor,
} from '../dtls/index.ts';
import { type AbortOptions, InvalidOptionError } from '../errors/index.ts';
import { LinkRole } from './broker-wire.ts';
import type { PunchLink } from './link.ts';

/** Options of {@link encryptLink}. */
export interface PunchEncryptionOptions
  extends Omit<DtlsCommonOptions, 'certificate' | 'fingerprints'>,
    AbortOptions {
  /** Our certificate (e.g. `generateCertificate()`); its `fingerprint` is what the peer pins. */
  readonly certificate: CertificateInput | DtlsCertificate;
  /** The peer's certificate fingerprint (SHA-256, `AB:CD:…`), learned from a party both trust. */
  readonly peerFingerprint: string;
}

/**
 * Runs DTLS over `link` once it is up and resolves with the connection: `send()` records, read
 * them with `for await` or `setReceiver`, `close()` sends close_notify (the link stays open).
 * @throws (rejects) DtlsError `ERR_DTLS_CERTIFICATE_REJECTED` (the peer's certificate is not the
 *   pinned one; the link is closed), `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_HANDSHAKE_TIMEOUT`;
 *   PunchFailedError `ERR_PUNCH_FAILED` (no path); InvalidOptionError; AbortError `ERR_ABORTED`.
 */
export async function encryptLink(link: PunchLink, options: PunchEncryptionOptions): Promise<DtlsConnection> {
  const { peerFingerprint, signal, ...dtls } = options;
  if (typeof peerFingerprint !== 'string' || peerFingerprint.length === 0)
    throw new InvalidOptionError(
      'peerFingerprint',
      "peerFingerprint must be the peer's certificate fingerprint",
    );
  if (options.certificate === undefined)
    throw new InvalidOptionError('certificate', 'encryptLink needs our certificate (generateCertificate())');
  const common = { ...dtls, fingerprints: [peerFingerprint] };
  const abort = signal === undefined ? {} : { signal };
  await link.ready(signal);
  try {
    if (link.role === LinkRole.INITIATOR) return await connectDtlsLink({ ...common, ...abort, link });
    return await new DtlsLinkAcceptor({ ...common, clientAuth: 'require' }).accept(link, abort);
  } catch (error) {
    await link.close();
    throw error;
  }
}
