/**
 * The server's handshake state machine after the cookie exchange (RFC 6347 §4.2.1, RFC 5246
 * §7.3): flight 4 (ServerHello … ServerHelloDone) and flight 6 (ChangeCipherSpec, Finished).
 * A required client certificate must come with a CertificateVerify that verifies.
 * @module
 */
import { checkPeerChain } from './certificate.ts';
import { certificatePublicKey } from './certificate-cache.ts';
import { type CipherSuite, usesCertificate, usesEcdhe, usesPsk } from './cipher-suites.ts';
import {
  AlertDescription,
  DTLS_1_2,
  EMPTY_RENEGOTIATION_INFO_SCSV,
  HandshakeType,
  NamedGroup,
} from './constants.ts';
import { DtlsErrorCode } from './errors.ts';
import type { HelloExtensions } from './extensions.ts';
import {
  checkFinished,
  decodeOrAbort,
  deriveKeys,
  expectedFinished,
  expectMessage,
  type Handshake,
  HandshakeAbort,
  type HandshakeHost,
  type Negotiated,
  preMasterSecret,
  unexpected,
} from './handshake-context.ts';
import { type EphemeralKey, generateEphemeral } from './key-exchange.ts';
import {
  type ClientHello,
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  decodeClientKeyExchange,
  decodeFinished,
  encodeCertificate,
  encodeCertificateRequest,
  encodeEcdhParams,
  encodeServerHello,
  encodeSigned,
} from './messages.ts';
import type { HandshakeMessage } from './reassembly.ts';
import { pickScheme, SIGNATURE_SCHEMES, signWith, verifyWith } from './signature.ts';
import { vector } from './wire.ts';

const State = {
  HELLO: 'wait-client-hello',
  CERTIFICATE: 'wait-client-certificate',
  KEY_EXCHANGE: 'wait-client-key-exchange',
  CERTIFICATE_VERIFY: 'wait-certificate-verify',
  CHANGE_CIPHER_SPEC: 'wait-change-cipher-spec',
  FINISHED: 'wait-finished',
  DONE: 'done',
} as const;
type StateValue = (typeof State)[keyof typeof State];

const CURVE_GROUPS: Record<string, number> = {
  prime256v1: NamedGroup.SECP256R1,
  secp384r1: NamedGroup.SECP384R1,
};

/** See the module doc. */
export class ServerHandshake implements Handshake {
  readonly #host: HandshakeHost;
  #state: StateValue = State.HELLO;
  #clientRandom: Buffer = Buffer.alloc(0);
  readonly #random: Buffer;
  #suite: CipherSuite | undefined;
  #group: number | undefined;
  #ephemeral: EphemeralKey | undefined;
  #ems = false;
  #srtp: number | undefined;
  #alpn: string | undefined;
  #chain: Buffer[] = [];
  #pskIdentity: Buffer | undefined;
  #master: Buffer | undefined;
  #negotiated: Negotiated | undefined;

  constructor(host: HandshakeHost) {
    this.#host = host;
    this.#random = host.config.random(32);
  }

  get negotiated(): Negotiated | undefined {
    return this.#negotiated;
  }

  start(): void {}

  onChangeCipherSpec(): void {
    this.#state = State.FINISHED;
    this.#host.expectChangeCipherSpec = false;
  }

  onMessage(m: HandshakeMessage): void {
    switch (this.#state) {
      case State.HELLO:
        expectMessage(this.#host, m, HandshakeType.CLIENT_HELLO, this.#state);
        this.#onClientHello(decodeOrAbort(() => decodeClientHello(m.body)));
        return;
      case State.CERTIFICATE:
        expectMessage(this.#host, m, HandshakeType.CERTIFICATE, this.#state);
        this.#onCertificate(m.body);
        return;
      case State.KEY_EXCHANGE:
        expectMessage(this.#host, m, HandshakeType.CLIENT_KEY_EXCHANGE, this.#state);
        this.#onKeyExchange(m.body);
        return;
      case State.CERTIFICATE_VERIFY: {
        if (m.type !== HandshakeType.CERTIFICATE_VERIFY) {
          unexpected(m, this.#state);
          return;
        }
        const cv = decodeOrAbort(() => decodeCertificateVerify(m.body));
        const key = certificatePublicKey(this.#chain[0]!);
        if (!verifyWith(cv.scheme, key, Buffer.concat(this.#host.transcript), cv.signature)) {
          throw new HandshakeAbort(
            AlertDescription.DECRYPT_ERROR,
            'the client CertificateVerify does not verify',
          );
        }
        this.#host.addReceived(m);
        this.#state = State.CHANGE_CIPHER_SPEC;
        this.#host.expectChangeCipherSpec = true;
        return;
      }
      case State.FINISHED:
        this.#onFinished(m);
        return;
      default:
        unexpected(m, this.#state);
        return;
    }
  }

  #chooseSuite(ch: ClientHello): CipherSuite {
    const c = this.#host.config;
    const groups = ch.extensions.supportedGroups ?? [NamedGroup.SECP256R1];
    const group = c.groups.find((g) => groups.includes(g));
    for (const suite of c.suites) {
      if (!ch.cipherSuites.includes(suite.id)) continue;
      if (usesEcdhe(suite) && group === undefined) continue;
      if (usesPsk(suite) && c.pskLookup === undefined) continue;
      if (usesCertificate(suite)) {
        const key = c.certificate?.privateKey;
        if (key === undefined) continue;
        if ((suite.keyExchange === 'ecdhe-rsa') !== (key.asymmetricKeyType === 'rsa')) continue;
        if (pickScheme(key, ch.extensions.signatureAlgorithms) === undefined) continue;
        // RFC 8422 §5.1: an ECDSA certificate's curve must be one the client supports (OpenSSL and
        // GnuTLS clients refuse it otherwise).
        const curve = CURVE_GROUPS[key.asymmetricKeyDetails?.namedCurve ?? ''];
        if (curve !== undefined && ch.extensions.supportedGroups !== undefined && !groups.includes(curve))
          continue;
      }
      if (usesEcdhe(suite)) this.#group = group;
      return suite;
    }
    throw new HandshakeAbort(AlertDescription.HANDSHAKE_FAILURE, 'no cipher suite in common with the client');
  }

  #onClientHello(ch: ClientHello): void {
    const host = this.#host;
    const c = host.config;
    if (ch.version > DTLS_1_2)
      throw new HandshakeAbort(AlertDescription.PROTOCOL_VERSION, 'the client does not offer DTLS 1.2');
    if (!ch.compression.includes(0))
      throw new HandshakeAbort(AlertDescription.ILLEGAL_PARAMETER, 'the client offers no null compression');
    const ext = ch.extensions;
    if (ext.renegotiationInfo !== undefined && ext.renegotiationInfo.length !== 0) {
      throw new HandshakeAbort(AlertDescription.HANDSHAKE_FAILURE, 'renegotiation_info is not empty');
    }
    this.#ems = ext.extendedMasterSecret === true;
    if (!this.#ems && c.requireExtendedMasterSecret) {
      throw new HandshakeAbort(
        AlertDescription.HANDSHAKE_FAILURE,
        'the client does not support extended_master_secret (RFC 7627)',
      );
    }
    const suite = this.#chooseSuite(ch);
    this.#suite = suite;
    this.#clientRandom = Buffer.from(ch.random);
    if (ext.srtp !== undefined) this.#srtp = c.srtpProfiles.find((p) => ext.srtp!.profiles.includes(p));
    if (ext.alpn !== undefined && c.alpnProtocols.length > 0) {
      // RFC 7301 §3.2: the server's preference; none in common is fatal.
      this.#alpn = c.alpnProtocols.find((p) => ext.alpn!.includes(p));
      if (this.#alpn === undefined) {
        throw new HandshakeAbort(
          AlertDescription.NO_APPLICATION_PROTOCOL,
          `no ALPN protocol in common (the client offers ${ext.alpn.join(', ')})`,
        );
      }
    }
    // RFC 9146 §3: answer the client's connection_id when we use CIDs (ours may be empty).
    const cid = ext.connectionId !== undefined && host.ownCid !== undefined;
    if (cid) host.useConnectionIds(ext.connectionId!);
    const secureRenegotiation =
      ext.renegotiationInfo !== undefined || ch.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV);
    const shExt: HelloExtensions = {
      ...(secureRenegotiation ? { renegotiationInfo: Buffer.alloc(0) } : {}),
      ...(this.#ems ? { extendedMasterSecret: true } : {}),
      ...(usesEcdhe(suite) && ext.pointFormats !== undefined ? { pointFormats: Buffer.of(0) } : {}),
      ...(this.#srtp !== undefined ? { srtp: { profiles: [this.#srtp], mki: Buffer.alloc(0) } } : {}),
      ...(this.#alpn !== undefined ? { alpn: [this.#alpn] } : {}),
      ...(cid ? { connectionId: host.ownCid! } : {}),
    };
    host.addMessage(
      HandshakeType.SERVER_HELLO,
      encodeServerHello({
        version: DTLS_1_2,
        random: this.#random,
        sessionId: Buffer.alloc(0),
        cipherSuite: suite.id,
        compression: 0,
        extensions: shExt,
      }),
    );
    if (usesCertificate(suite))
      host.addMessage(HandshakeType.CERTIFICATE, encodeCertificate(c.certificate!.chain));
    const ske: Buffer[] = [];
    if (usesPsk(suite) && (c.pskHint !== undefined || usesEcdhe(suite)))
      ske.push(vector(c.pskHint ?? Buffer.alloc(0), 2));
    if (usesEcdhe(suite)) {
      this.#ephemeral = generateEphemeral(this.#group!);
      const params = encodeEcdhParams(this.#group!, this.#ephemeral.publicKey);
      ske.push(params);
      if (usesCertificate(suite)) {
        const key = c.certificate!.privateKey;
        const scheme = pickScheme(key, ext.signatureAlgorithms)!;
        const signature = signWith(scheme, key, Buffer.concat([this.#clientRandom, this.#random, params]));
        ske.push(encodeSigned({ scheme, signature }));
      }
    }
    if (ske.length > 0) host.addMessage(HandshakeType.SERVER_KEY_EXCHANGE, Buffer.concat(ske));
    const askCert = usesCertificate(suite) && c.clientAuth !== 'none';
    if (askCert) {
      host.addMessage(
        HandshakeType.CERTIFICATE_REQUEST,
        encodeCertificateRequest({ types: Buffer.of(64, 1), signatureAlgorithms: SIGNATURE_SCHEMES }),
      );
    }
    host.addMessage(HandshakeType.SERVER_HELLO_DONE, Buffer.alloc(0));
    host.sendFlight(false);
    this.#state = askCert ? State.CERTIFICATE : State.KEY_EXCHANGE;
  }

  #onCertificate(body: Buffer): void {
    const chain = decodeOrAbort(() => decodeCertificate(body));
    const c = this.#host.config;
    if (chain.length === 0) {
      if (c.clientAuth === 'require') {
        throw new HandshakeAbort(
          AlertDescription.HANDSHAKE_FAILURE,
          'the client sent no certificate and one is required',
          DtlsErrorCode.CERTIFICATE_REJECTED,
        );
      }
    } else {
      const reason = c.verification === undefined ? undefined : checkPeerChain(chain, c.verification);
      if (reason !== undefined)
        throw new HandshakeAbort(
          AlertDescription.BAD_CERTIFICATE,
          reason,
          DtlsErrorCode.CERTIFICATE_REJECTED,
        );
    }
    this.#chain = chain.map((d) => Buffer.from(d));
    this.#state = State.KEY_EXCHANGE;
  }

  #onKeyExchange(body: Buffer): void {
    const host = this.#host;
    const c = host.config;
    const suite = this.#suite!;
    const cke = decodeOrAbort(() =>
      decodeClientKeyExchange(body, { psk: usesPsk(suite), ecdhe: usesEcdhe(suite) }),
    );
    let psk: Buffer | undefined;
    if (usesPsk(suite)) {
      psk = c.pskLookup!(cke.pskIdentity!);
      if (psk === undefined)
        throw new HandshakeAbort(AlertDescription.UNKNOWN_PSK_IDENTITY, 'unknown PSK identity');
      this.#pskIdentity = Buffer.from(cke.pskIdentity!);
    }
    let shared: Buffer | undefined;
    if (usesEcdhe(suite)) {
      try {
        shared = this.#ephemeral!.derive(cke.publicKey!);
      } catch {
        throw new HandshakeAbort(
          AlertDescription.ILLEGAL_PARAMETER,
          'the client key share is not a valid point',
        );
      }
    }
    this.#master = deriveKeys(
      host,
      'server',
      suite,
      preMasterSecret(suite, shared, psk),
      this.#ems,
      this.#clientRandom,
      this.#random,
    );
    this.#state = this.#chain.length > 0 ? State.CERTIFICATE_VERIFY : State.CHANGE_CIPHER_SPEC;
    host.expectChangeCipherSpec = this.#chain.length === 0;
  }

  #onFinished(m: HandshakeMessage): void {
    if (m.type !== HandshakeType.FINISHED) {
      unexpected(m, this.#state);
      return;
    }
    const host = this.#host;
    const suite = this.#suite!;
    checkFinished(
      decodeOrAbort(() => decodeFinished(m.body)),
      expectedFinished(host, suite, this.#master!, true),
    );
    this.#host.addReceived(m);
    host.addChangeCipherSpec();
    host.addMessage(HandshakeType.FINISHED, expectedFinished(host, suite, this.#master!, false));
    host.sendFlight(true);
    this.#state = State.DONE;
    this.#negotiated = {
      suite,
      master: this.#master!,
      clientRandom: this.#clientRandom,
      serverRandom: this.#random,
      extendedMasterSecret: this.#ems,
      srtpProfile: this.#srtp,
      alpnProtocol: this.#alpn,
      group: this.#group,
      peerCertificates: this.#chain,
      pskIdentity: this.#pskIdentity,
    };
    host.complete();
  }
}
