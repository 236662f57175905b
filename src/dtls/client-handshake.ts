/**
 * The client's handshake state machine (RFC 6347 §4.2.1, RFC 5246 §7.3). Flights 1/3 and 5;
 * every message outside its state fails with `unexpected_message`; the ServerKeyExchange
 * signature and the server Finished are always verified.
 * @module
 */
import { checkPeerChain } from './certificate.ts';
import { certificatePublicKey } from './certificate-cache.ts';
import { type CipherSuite, suiteById, usesCertificate, usesEcdhe, usesPsk } from './cipher-suites.ts';
import { AlertDescription, DTLS_1_2, EMPTY_RENEGOTIATION_INFO_SCSV, HandshakeType } from './constants.ts';
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
  decodeCertificate,
  decodeCertificateRequest,
  decodeEmpty,
  decodeFinished,
  decodeHelloVerifyRequest,
  decodeServerHello,
  decodeServerKeyExchange,
  encodeCertificate,
  encodeClientHello,
  encodeClientKeyExchange,
  encodeSigned,
  type ServerKeyExchange,
} from './messages.ts';
import type { HandshakeMessage } from './reassembly.ts';
import { pickScheme, SIGNATURE_SCHEMES, signWith, verifyWith } from './signature.ts';

const State = {
  HELLO: 'wait-server-hello',
  CERTIFICATE: 'wait-certificate',
  KEY_EXCHANGE: 'wait-server-key-exchange',
  HELLO_DONE: 'wait-server-hello-done',
  CHANGE_CIPHER_SPEC: 'wait-change-cipher-spec',
  FINISHED: 'wait-finished',
  DONE: 'done',
} as const;
type StateValue = (typeof State)[keyof typeof State];

/** Most HelloVerifyRequests a client follows before it gives up. */
const MAX_HELLO_VERIFY = 4;

/** See the module doc. */
export class ClientHandshake implements Handshake {
  readonly #host: HandshakeHost;
  #state: StateValue = State.HELLO;
  readonly #random: Buffer;
  #cookie: Buffer = Buffer.alloc(0);
  #verifies = 0;
  #suite: CipherSuite | undefined;
  #serverRandom: Buffer = Buffer.alloc(0);
  #ems = false;
  #srtp: number | undefined;
  #alpn: string | undefined;
  #chain: Buffer[] = [];
  #ske: ServerKeyExchange | undefined;
  #certRequested = false;
  #certRequestSchemes: readonly number[] | undefined;
  #master: Buffer | undefined;
  #ephemeral: EphemeralKey | undefined;
  #negotiated: Negotiated | undefined;

  constructor(host: HandshakeHost) {
    this.#host = host;
    this.#random = host.config.random(32);
  }

  get negotiated(): Negotiated | undefined {
    return this.#negotiated;
  }

  start(): void {
    this.#sendHello();
  }

  #sendHello(): void {
    const c = this.#host.config;
    const ecdhe = c.suites.some(usesEcdhe);
    const ext: HelloExtensions = {
      renegotiationInfo: Buffer.alloc(0),
      extendedMasterSecret: true,
      ...(ecdhe ? { supportedGroups: [...c.groups], pointFormats: Buffer.of(0) } : {}),
      signatureAlgorithms: [...SIGNATURE_SCHEMES],
      ...(c.srtpProfiles.length > 0 ? { srtp: { profiles: [...c.srtpProfiles], mki: Buffer.alloc(0) } } : {}),
      ...(c.alpnProtocols.length > 0 ? { alpn: [...c.alpnProtocols] } : {}),
      ...(this.#host.ownCid !== undefined ? { connectionId: this.#host.ownCid } : {}),
    };
    const body = encodeClientHello({
      version: DTLS_1_2,
      random: this.#random,
      sessionId: Buffer.alloc(0),
      cookie: this.#cookie,
      cipherSuites: c.suites.map((s) => s.id),
      compression: Buffer.of(0),
      extensions: ext,
    });
    this.#host.transcript.length = 0;
    this.#host.addMessage(HandshakeType.CLIENT_HELLO, body);
    this.#host.sendFlight(false);
  }

  onChangeCipherSpec(): void {
    this.#state = State.FINISHED;
    this.#host.expectChangeCipherSpec = false;
  }

  onMessage(m: HandshakeMessage): void {
    const host = this.#host;
    switch (this.#state) {
      case State.HELLO:
        if (m.type === HandshakeType.HELLO_VERIFY_REQUEST) {
          this.#onHelloVerify(m);
          return;
        }
        expectMessage(this.#host, m, HandshakeType.SERVER_HELLO, this.#state);
        this.#onServerHello(m.body);
        return;
      case State.CERTIFICATE:
        expectMessage(this.#host, m, HandshakeType.CERTIFICATE, this.#state);
        this.#onCertificate(m.body);
        return;
      case State.KEY_EXCHANGE: {
        const suite = this.#suite!;
        if (m.type === HandshakeType.SERVER_HELLO_DONE && suite.keyExchange === 'psk') {
          this.#state = State.HELLO_DONE;
          this.onMessage(m);
          return;
        }
        expectMessage(this.#host, m, HandshakeType.SERVER_KEY_EXCHANGE, this.#state);
        this.#onServerKeyExchange(m.body);
        return;
      }
      case State.HELLO_DONE:
        if (
          m.type === HandshakeType.CERTIFICATE_REQUEST &&
          !this.#certRequested &&
          usesCertificate(this.#suite!)
        ) {
          this.#host.addReceived(m);
          this.#certRequested = true;
          this.#certRequestSchemes = decodeOrAbort(() =>
            decodeCertificateRequest(m.body),
          ).signatureAlgorithms;
          return;
        }
        if (m.type !== HandshakeType.SERVER_HELLO_DONE) {
          unexpected(m, this.#state);
          return;
        }
        decodeOrAbort(() => decodeEmpty(m.body, 'ServerHelloDone'));
        this.#host.addReceived(m);
        this.#sendKeyExchange();
        return;
      case State.FINISHED: {
        if (m.type !== HandshakeType.FINISHED) {
          unexpected(m, this.#state);
          return;
        }
        const received = decodeOrAbort(() => decodeFinished(m.body));
        checkFinished(received, expectedFinished(host, this.#suite!, this.#master!, false));
        this.#host.addReceived(m);
        this.#state = State.DONE;
        this.#negotiated = {
          suite: this.#suite!,
          master: this.#master!,
          clientRandom: this.#random,
          serverRandom: this.#serverRandom,
          extendedMasterSecret: this.#ems,
          srtpProfile: this.#srtp,
          alpnProtocol: this.#alpn,
          group: this.#ephemeral?.group,
          peerCertificates: this.#chain,
          pskIdentity: host.config.psk?.identity,
        };
        host.complete();
        return;
      }
      default:
        unexpected(m, this.#state);
        return;
    }
  }

  #onHelloVerify(m: HandshakeMessage): void {
    const hvr = decodeOrAbort(() => decodeHelloVerifyRequest(m.body));
    if (++this.#verifies > MAX_HELLO_VERIFY) {
      throw new HandshakeAbort(
        AlertDescription.HANDSHAKE_FAILURE,
        'the server keeps asking for a new cookie',
      );
    }
    this.#cookie = Buffer.from(hvr.cookie);
    this.#sendHello();
  }

  #onServerHello(body: Buffer): void {
    const c = this.#host.config;
    const sh = decodeOrAbort(() => decodeServerHello(body));
    if (sh.version !== DTLS_1_2)
      throw new HandshakeAbort(AlertDescription.PROTOCOL_VERSION, 'the server does not speak DTLS 1.2');
    const suite = suiteById(sh.cipherSuite);
    if (
      suite === undefined ||
      !c.suites.includes(suite) ||
      sh.cipherSuite === EMPTY_RENEGOTIATION_INFO_SCSV
    ) {
      throw new HandshakeAbort(
        AlertDescription.ILLEGAL_PARAMETER,
        `the server chose suite 0x${sh.cipherSuite.toString(16)} we did not offer`,
      );
    }
    if (sh.compression !== 0)
      throw new HandshakeAbort(AlertDescription.ILLEGAL_PARAMETER, 'the server chose compression');
    const ext = sh.extensions;
    if (ext.renegotiationInfo !== undefined && ext.renegotiationInfo.length !== 0) {
      throw new HandshakeAbort(AlertDescription.HANDSHAKE_FAILURE, 'renegotiation_info is not empty');
    }
    this.#ems = ext.extendedMasterSecret === true;
    if (!this.#ems && c.requireExtendedMasterSecret) {
      throw new HandshakeAbort(
        AlertDescription.HANDSHAKE_FAILURE,
        'the server does not support extended_master_secret (RFC 7627)',
      );
    }
    if (ext.srtp !== undefined) {
      const profile = ext.srtp.profiles[0];
      if (ext.srtp.profiles.length !== 1 || profile === undefined || !c.srtpProfiles.includes(profile)) {
        throw new HandshakeAbort(
          AlertDescription.ILLEGAL_PARAMETER,
          'the server chose an SRTP profile we did not offer',
        );
      }
      this.#srtp = profile;
    }
    if (ext.alpn !== undefined) {
      // RFC 7301 §3.1: exactly one protocol, one we offered.
      const chosen = ext.alpn[0];
      if (ext.alpn.length !== 1 || chosen === undefined || !c.alpnProtocols.includes(chosen)) {
        throw new HandshakeAbort(
          AlertDescription.ILLEGAL_PARAMETER,
          'the server chose an ALPN protocol we did not offer',
        );
      }
      this.#alpn = chosen;
    }
    if (ext.connectionId !== undefined) {
      // RFC 9146 §3: a server may only answer a connection_id the client sent.
      if (this.#host.ownCid === undefined)
        throw new HandshakeAbort(
          AlertDescription.UNSUPPORTED_EXTENSION,
          'the server sent connection_id we did not offer',
        );
      this.#host.useConnectionIds(ext.connectionId);
    }
    this.#suite = suite;
    this.#serverRandom = Buffer.from(sh.random);
    this.#state = usesCertificate(suite) ? State.CERTIFICATE : State.KEY_EXCHANGE;
  }

  #onCertificate(body: Buffer): void {
    const chain = decodeOrAbort(() => decodeCertificate(body));
    const policy = this.#host.config.verification;
    if (chain.length === 0)
      throw new HandshakeAbort(
        AlertDescription.BAD_CERTIFICATE,
        'the server sent no certificate',
        DtlsErrorCode.CERTIFICATE_REJECTED,
      );
    const reason = policy === undefined ? undefined : checkPeerChain(chain, policy);
    if (reason !== undefined)
      throw new HandshakeAbort(AlertDescription.BAD_CERTIFICATE, reason, DtlsErrorCode.CERTIFICATE_REJECTED);
    this.#chain = chain.map((c) => Buffer.from(c));
    this.#state = State.KEY_EXCHANGE;
  }

  #onServerKeyExchange(body: Buffer): void {
    const suite = this.#suite!;
    const signed = usesCertificate(suite);
    const ske = decodeOrAbort(() =>
      decodeServerKeyExchange(body, { psk: usesPsk(suite), ecdhe: usesEcdhe(suite), signed }),
    );
    if (usesEcdhe(suite) && !this.#host.config.groups.includes(ske.group!)) {
      throw new HandshakeAbort(
        AlertDescription.ILLEGAL_PARAMETER,
        `the server chose group ${ske.group} we did not offer`,
      );
    }
    if (signed) {
      const leaf = certificatePublicKey(this.#chain[0]!);
      const fits =
        suite.keyExchange === 'ecdhe-rsa'
          ? leaf.asymmetricKeyType === 'rsa'
          : leaf.asymmetricKeyType !== 'rsa';
      const data = Buffer.concat([this.#random, this.#serverRandom, ske.params!]);
      if (!fits || !verifyWith(ske.scheme!, leaf, data, ske.signature!)) {
        throw new HandshakeAbort(
          AlertDescription.DECRYPT_ERROR,
          'the ServerKeyExchange signature does not verify',
        );
      }
    }
    this.#ske = ske;
    this.#state = State.HELLO_DONE;
  }

  #sendKeyExchange(): void {
    const host = this.#host;
    const c = host.config;
    const suite = this.#suite!;
    let shared: Buffer | undefined;
    let publicKey: Buffer | undefined;
    if (usesEcdhe(suite)) {
      this.#ephemeral = generateEphemeral(this.#ske!.group!);
      try {
        shared = this.#ephemeral.derive(this.#ske!.publicKey!);
      } catch {
        throw new HandshakeAbort(
          AlertDescription.ILLEGAL_PARAMETER,
          'the server key share is not a valid point',
        );
      }
      publicKey = this.#ephemeral.publicKey;
    }
    if (usesPsk(suite) && c.psk === undefined)
      throw new HandshakeAbort(AlertDescription.HANDSHAKE_FAILURE, 'no PSK configured');
    const cert = c.certificate;
    let signWithScheme: number | undefined;
    if (this.#certRequested) {
      signWithScheme = cert === undefined ? undefined : pickScheme(cert.privateKey, this.#certRequestSchemes);
      host.addMessage(
        HandshakeType.CERTIFICATE,
        encodeCertificate(signWithScheme === undefined ? [] : (cert?.chain ?? [])),
      );
    }
    host.addMessage(
      HandshakeType.CLIENT_KEY_EXCHANGE,
      encodeClientKeyExchange({
        ...(usesPsk(suite) ? { pskIdentity: c.psk!.identity } : {}),
        ...(publicKey !== undefined ? { publicKey } : {}),
      }),
    );
    const pms = preMasterSecret(suite, shared, usesPsk(suite) ? c.psk!.key : undefined);
    this.#master = deriveKeys(host, 'client', suite, pms, this.#ems, this.#random, this.#serverRandom);
    if (signWithScheme !== undefined) {
      const signature = signWith(signWithScheme, cert!.privateKey, Buffer.concat(host.transcript));
      host.addMessage(HandshakeType.CERTIFICATE_VERIFY, encodeSigned({ scheme: signWithScheme, signature }));
    }
    host.addChangeCipherSpec();
    host.addMessage(HandshakeType.FINISHED, expectedFinished(host, suite, this.#master, true));
    host.sendFlight(false);
    this.#state = State.CHANGE_CIPHER_SPEC;
    host.expectChangeCipherSpec = true;
  }
}
