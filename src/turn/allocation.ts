import { ClosedError, InvalidStateError, TimeoutError } from '../errors/index.ts';
import {
  decodeStun,
  encodeStun,
  getAttribute,
  hasValidFingerprint,
  isStunPacket,
  longTermKey,
  makeNonce,
  makeRealm,
  makeUsername,
  type StunAddress,
  StunAttr,
  type StunAttributeInit,
  StunClass,
  type StunMessage,
  type StunRetransmitOptions,
  StunTransactions,
} from '../stun/index.ts';
import { makeChannelNumber, makeLifetime, makeRequestedTransport, makeXorPeerAddress } from './attributes.ts';
import { checkChannelData, encodeChannelData, isChannelData } from './channel-data.ts';
import {
  MAX_STALE_NONCE_RETRIES,
  TURN_CHANNEL_LIFETIME_MS,
  TURN_DEFAULT_LIFETIME_S,
  TURN_PERMISSION_LIFETIME_MS,
  TurnMethod,
  TurnStatusCode,
} from './constants.ts';
import * as d from './diagnostics.ts';
import { TurnError, TurnErrorCode } from './errors.ts';
import {
  encodeSendIndication,
  hasValidTurnIntegrity,
  readAllocateSuccess,
  readDataIndication,
  readErrorResponse,
  readLifetime,
} from './messages.ts';
import {
  type ResolvedTurnOptions,
  resolveTurnOptions,
  type TurnAllocationOptions,
  type TurnEvent,
  type TurnPollResult,
  type TurnStateType,
} from './options.ts';
import { emptyTurnCounters, type TurnAllocationStats, type TurnCounters } from './stats.ts';
import { type TurnChannel, TurnChannelTable, type TurnPermission } from './tables.ts';

/**
 * The sans-I/O TURN client allocation (RFC 8656): Allocate with the long-term credential dance,
 * Refresh before expiry, permissions and channel bindings kept alive, Send/Data indications and
 * ChannelData, Refresh with LIFETIME 0 on close. No I/O and no clock: the driver feeds datagrams to
 * {@link TurnAllocation.receive}, calls {@link TurnAllocation.poll} at `nextWakeMs`, sends the
 * returned datagrams to the server and handles the events.
 * @module
 */

type Kind = 'allocate' | 'refresh' | 'permission' | 'channel' | 'close';
interface Pending {
  readonly kind: Kind;
  /** The operation to report (0: internal, e.g. a scheduled refresh). */
  readonly op: number;
  readonly method: number;
  readonly attributes: readonly StunAttributeInit[];
  readonly authenticated: boolean;
  readonly stale: number;
  readonly permission?: TurnPermission;
  readonly channel?: TurnChannel;
}

/** One TURN allocation's client state machine (one per server and 5-tuple). */
export class TurnAllocation {
  readonly #o: ResolvedTurnOptions;
  readonly #transactions: StunTransactions<Pending>;
  readonly #permissions = new Map<string, TurnPermission>();
  readonly #channels = new TurnChannelTable();
  readonly #c: TurnCounters = emptyTurnCounters();
  #state: TurnStateType = 'idle';
  #realm: string | undefined;
  #nonce: string | undefined;
  #key: Buffer | undefined;
  #relayed: StunAddress | undefined;
  #mapped: StunAddress | undefined;
  #grantedS = 0;
  #refreshAt = Number.POSITIVE_INFINITY;
  #expiresAt = Number.POSITIVE_INFINITY;
  #refreshInFlight = false;
  #nextOp = 1;
  #datagrams: Buffer[] = [];
  #events: TurnEvent[] = [];

  /** @throws InvalidOptionError `ERR_INVALID_OPTION`. */
  constructor(options: TurnAllocationOptions) {
    this.#o = resolveTurnOptions(options);
    this.#transactions = new StunTransactions<Pending>(options.retransmit);
  }

  get state(): TurnStateType {
    return this.#state;
  }
  /** XOR-RELAYED-ADDRESS of the allocation, once allocated. */
  get relayedAddress(): StunAddress | undefined {
    return this.#relayed;
  }
  /** XOR-MAPPED-ADDRESS: the client's address as the server sees it, once allocated. */
  get mappedAddress(): StunAddress | undefined {
    return this.#mapped;
  }
  /** The lifetime the server granted last, seconds. */
  get lifetimeS(): number {
    return this.#grantedS;
  }
  /** Whether poll() has datagrams or events waiting (the driver polls after receive when true). */
  get hasOutput(): boolean {
    return this.#datagrams.length > 0 || this.#events.length > 0;
  }

  /** 1. Sends Allocate without credentials (the server answers 401 with REALM and NONCE). RFC 8656 §7.1. */
  allocate(nowMs: number): number {
    if (this.#state !== 'idle') {
      throw new InvalidStateError(`allocate() was already called (the allocation is ${this.#state})`);
    }
    this.#state = 'allocating';
    const op = this.#nextOp++;
    const attributes: StunAttributeInit[] = [makeRequestedTransport()];
    if (this.#o.lifetimeS !== undefined) attributes.push(makeLifetime(this.#o.lifetimeS));
    this.#request('allocate', op, TurnMethod.ALLOCATE, attributes, nowMs, {});
    return op;
  }

  /**
   * Installs (or refreshes) a permission for `ip`; kept alive every `permissionRefreshMs`. RFC 8656 §9.
   * @returns the operation reported by a `done` / `failed` event.
   * @throws InvalidStateError `ERR_INVALID_STATE`, `ERR_TURN_TOO_MANY_PERMISSIONS`; ConfigError for a bad IP.
   */
  createPermission(ip: string, nowMs: number): number {
    this.#checkAllocated();
    let permission = this.#permissions.get(ip);
    if (permission === undefined) {
      if (this.#permissions.size >= this.#o.maxPermissions) {
        this.#c.permissionsRefused++;
        throw new TurnError(
          TurnErrorCode.TOO_MANY_PERMISSIONS,
          `${this.#o.maxPermissions} permissions exist`,
        );
      }
      makeXorPeerAddress({ address: ip, port: 0 }); // validates the IP before anything is stored
      permission = { ip, installed: false, inFlight: false, refreshAt: nowMs, expiresAt: nowMs };
      this.#permissions.set(ip, permission);
    }
    const op = this.#nextOp++;
    this.#sendPermission(permission, op, nowMs);
    return op;
  }

  /**
   * Binds a channel to `peer` (or refreshes its binding); ChannelData is used once confirmed.
   * RFC 8656 §12. @returns the operation and the channel number.
   * @throws InvalidStateError `ERR_INVALID_STATE`, `ERR_TURN_TOO_MANY_CHANNELS`; ConfigError for a bad address.
   */
  bindChannel(
    peer: { readonly address: string; readonly port: number },
    nowMs: number,
  ): { op: number; channel: number } {
    this.#checkAllocated();
    let channel = this.#channels.byPeer(peer.address, peer.port);
    if (channel === undefined) {
      if (this.#channels.size >= this.#o.maxChannels) {
        this.#c.channelsRefused++;
        throw new TurnError(TurnErrorCode.TOO_MANY_CHANNELS, `${this.#o.maxChannels} channels are bound`);
      }
      makeXorPeerAddress(peer); // validates
      const family = peer.address.includes(':') ? 'IPv6' : 'IPv4';
      channel = this.#channels.add({ family, address: peer.address, port: peer.port }, nowMs);
    }
    const op = this.#nextOp++;
    this.#sendChannelBind(channel, op, nowMs);
    return { op, channel: channel.number };
  }

  /**
   * The datagram that relays `data` to `peer`: ChannelData on a confirmed channel, else a Send
   * indication (RFC 8656 §11.1, §12.5). Send it to the server.
   * @throws InvalidStateError `ERR_INVALID_STATE`; ConfigError for a bad address or oversized data.
   */
  encodeSend(data: Uint8Array, peer: { readonly address: string; readonly port: number }): Buffer {
    this.#checkAllocated();
    const channel = this.#channels.byPeer(peer.address, peer.port);
    if (channel?.confirmed === true) {
      this.#c.sentChannelData++;
      return encodeChannelData(channel.number, data);
    }
    this.#c.sentIndications++;
    return encodeSendIndication(data, peer);
  }

  /**
   * Offers one datagram received on the allocation's socket. Relayed data goes to `onData`; responses
   * advance the state machine (then call {@link poll}). Returns false when the datagram is not the
   * server's or is a STUN response to a transaction of someone else (route it elsewhere). Never throws.
   */
  receive(data: Buffer, from: { readonly address: string; readonly port: number }, nowMs: number): boolean {
    if (from.port !== this.#o.server.port || from.address !== this.#o.server.address) {
      this.#c.notFromServer++;
      return false;
    }
    if (isChannelData(data)) {
      let length: number;
      try {
        length = checkChannelData(data);
      } catch {
        this.#c.malformed++;
        return true;
      }
      const channel = this.#channels.byNumber((data[0]! << 8) | data[1]!);
      if (channel === undefined) {
        this.#c.unknownChannel++;
        return true;
      }
      this.#c.channelDataReceived++;
      this.#o.onData?.(data.subarray(4, 4 + length), channel.peer);
      return true;
    }
    if (!isStunPacket(data)) {
      this.#c.malformed++;
      return false;
    }
    let message: StunMessage;
    try {
      message = decodeStun(data);
    } catch {
      this.#c.malformed++;
      return true;
    }
    if (message.class === StunClass.INDICATION) {
      this.#dataIndication(message);
      return true;
    }
    const pending = this.#transactions.contextOf(message.transactionId);
    if (pending === undefined || message.class === StunClass.REQUEST) return false;
    if (getAttribute(message, StunAttr.FINGERPRINT) !== undefined && !hasValidFingerprint(message)) {
      this.#c.badFingerprint++;
      return true;
    }
    if (
      message.class === StunClass.SUCCESS_RESPONSE &&
      pending.authenticated &&
      !this.#integrityOk(message)
    ) {
      this.#c.badIntegrity++; // RFC 8489 §9.2.5: discarded as if never received
      return true;
    }
    this.#transactions.receive(message);
    if (message.class === StunClass.ERROR_RESPONSE) this.#onError(pending, message, nowMs);
    else this.#onSuccess(pending, message, nowMs);
    return true;
  }

  /** Runs the timers due at `nowMs` and returns what to send, what happened, and when to wake. */
  poll(nowMs: number): TurnPollResult {
    this.#runTimers(nowMs);
    for (let e = this.#transactions.poll(nowMs); e !== undefined; e = this.#transactions.poll(nowMs)) {
      if (e.type === 'send') this.#datagrams.push(e.data);
      else this.#onTimeout(e.context);
    }
    const datagrams = this.#datagrams;
    const events = this.#events;
    this.#datagrams = [];
    this.#events = [];
    return { datagrams, events, nextWakeMs: this.#nextWakeMs() };
  }

  /**
   * Deletes the allocation: Refresh with LIFETIME 0 (RFC 8656 §8), after which a `closed` event
   * follows; operations in flight fail with `ERR_CLOSED`. Idempotent.
   */
  close(nowMs: number): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    const wasAllocated = this.#state === 'allocated';
    this.#state = 'closing';
    this.#abandonAll(new ClosedError('TURN allocation'));
    if (wasAllocated) {
      const attributes = [makeLifetime(0)];
      this.#request('close', 0, TurnMethod.REFRESH, attributes, nowMs, {
        retransmit: this.#o.closeRetransmit,
      });
    } else {
      this.#finishClose();
    }
  }

  /** A snapshot of the counters. */
  stats(): TurnAllocationStats {
    return {
      ...this.#c,
      state: this.#state,
      permissions: this.#permissions.size,
      channels: this.#channels.size,
      transactions: this.#transactions.stats(),
    };
  }

  #checkAllocated(): void {
    if (this.#state === 'allocated') return;
    if (this.#state === 'closing' || this.#state === 'closed') throw new ClosedError('TURN allocation');
    if (this.#state === 'failed') {
      throw new TurnError(TurnErrorCode.ALLOCATION_LOST, 'the TURN allocation is lost; allocate again');
    }
    throw new InvalidStateError(`the TURN allocation is ${this.#state}, not allocated yet`);
  }

  #sendPermission(permission: TurnPermission, op: number, nowMs: number): void {
    permission.inFlight = true;
    const attributes = [makeXorPeerAddress({ address: permission.ip, port: 0 })];
    this.#request('permission', op, TurnMethod.CREATE_PERMISSION, attributes, nowMs, { permission });
  }

  #sendChannelBind(channel: TurnChannel, op: number, nowMs: number): void {
    channel.inFlight = true;
    const attributes = [makeChannelNumber(channel.number), makeXorPeerAddress(channel.peer)];
    this.#request('channel', op, TurnMethod.CHANNEL_BIND, attributes, nowMs, { channel });
  }

  /** Starts a request, authenticated with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY once we have a nonce. */
  #request(
    kind: Kind,
    op: number,
    method: number,
    attributes: readonly StunAttributeInit[],
    nowMs: number,
    extra: {
      permission?: TurnPermission;
      channel?: TurnChannel;
      stale?: number;
      retransmit?: StunRetransmitOptions;
    },
  ): void {
    const key = this.#key;
    const all = [...attributes];
    if (key !== undefined) {
      all.push(makeUsername(this.#o.username), makeRealm(this.#realm ?? ''), makeNonce(this.#nonce ?? ''));
    }
    if (this.#o.software !== undefined) all.push(this.#o.software);
    const data = encodeStun(
      { method, class: StunClass.REQUEST, attributes: all },
      key === undefined ? { fingerprint: true } : { integrityKey: key, fingerprint: true },
    );
    const pending: Pending = {
      kind,
      op,
      method,
      attributes,
      authenticated: key !== undefined,
      stale: extra.stale ?? 0,
      ...(extra.permission !== undefined ? { permission: extra.permission } : {}),
      ...(extra.channel !== undefined ? { channel: extra.channel } : {}),
    };
    const retransmit = extra.retransmit ?? this.#o.retransmit;
    this.#transactions.start(data, this.#o.server, nowMs, pending, retransmit);
    if (kind === 'refresh') this.#refreshInFlight = true;
  }

  #resend(pending: Pending, nowMs: number, stale: number): void {
    this.#request(pending.kind, pending.op, pending.method, pending.attributes, nowMs, {
      stale,
      ...(pending.permission !== undefined ? { permission: pending.permission } : {}),
      ...(pending.channel !== undefined ? { channel: pending.channel } : {}),
      ...(pending.kind === 'close' ? { retransmit: this.#o.closeRetransmit } : {}),
    });
  }

  #integrityOk(message: StunMessage): boolean {
    return this.#key !== undefined && hasValidTurnIntegrity(message, this.#key);
  }

  #dataIndication(message: StunMessage): void {
    if (message.method !== TurnMethod.DATA) {
      this.#c.unexpected++;
      return;
    }
    const indication = readDataIndication(message);
    if (indication === undefined) {
      this.#c.malformed++; // RFC 8656 §11.4: discarded without a valid XOR-PEER-ADDRESS and DATA
      return;
    }
    this.#c.indicationsReceived++;
    this.#o.onData?.(indication.data, indication.peer);
  }

  /**
   * 2. A 401 to the unauthenticated Allocate: take REALM and NONCE, derive the long-term key, retry
   * (RFC 8656 §7.2, RFC 8489 §9.2.3). 438 Stale Nonce: take the new NONCE and retry, at most
   * {@link MAX_STALE_NONCE_RETRIES} times (RFC 8489 §9.2.5). Anything else fails the operation.
   */
  #onError(pending: Pending, message: StunMessage, nowMs: number): void {
    const { status, reason, realm, nonce } = readErrorResponse(message);
    if (status === 401 && !pending.authenticated && realm !== undefined && nonce !== undefined) {
      this.#realm = realm;
      this.#nonce = nonce;
      this.#key = longTermKey({ username: this.#o.username, realm, password: this.#o.password });
      this.#resend(pending, nowMs, pending.stale);
      return;
    }
    if (status === 438 && nonce !== undefined && pending.stale < MAX_STALE_NONCE_RETRIES) {
      this.#c.staleNonces++;
      this.#nonce = nonce;
      if (realm !== undefined && realm !== this.#realm) {
        this.#realm = realm;
        this.#key = longTermKey({ username: this.#o.username, realm, password: this.#o.password });
      }
      this.#resend(pending, nowMs, pending.stale + 1);
      return;
    }
    const auth = status === 401 || status === TurnStatusCode.WRONG_CREDENTIALS;
    const error = new TurnError(
      auth ? TurnErrorCode.AUTH_FAILED : TurnErrorCode.REQUEST_FAILED,
      `the TURN server answered ${pending.kind} with ${status} ${reason}`.trim(),
      status,
    );
    this.#fail(pending, error);
  }

  #onSuccess(pending: Pending, message: StunMessage, nowMs: number): void {
    switch (pending.kind) {
      case 'allocate': {
        let success: ReturnType<typeof readAllocateSuccess>;
        try {
          success = readAllocateSuccess(message);
        } catch (error) {
          this.#fail(pending, error as TurnError);
          return;
        }
        this.#relayed = success.relayed;
        this.#mapped = success.mapped;
        this.#state = 'allocated';
        this.#granted(success.lifetimeS ?? TURN_DEFAULT_LIFETIME_S, nowMs);
        if (d.allocationCreatedChannel.hasSubscribers)
          d.publishCreated(this.#o.server, success.relayed, success.mapped, this.#grantedS);
        break;
      }
      case 'refresh':
        this.#refreshInFlight = false;
        this.#c.refreshes++;
        if (this.#state === 'allocated') this.#granted(readLifetime(message) ?? this.#grantedS, nowMs);
        if (d.allocationRefreshedChannel.hasSubscribers)
          d.publishRefreshed(this.#o.server, this.#relayed, this.#grantedS);
        break;
      case 'permission': {
        const p = pending.permission!;
        if (d.permissionInstalledChannel.hasSubscribers)
          d.publishPermission(this.#o.server, p.ip, p.installed);
        p.inFlight = false;
        p.installed = true;
        p.refreshAt = nowMs + this.#o.permissionRefreshMs;
        p.expiresAt = nowMs + TURN_PERMISSION_LIFETIME_MS;
        break;
      }
      case 'channel': {
        const c = pending.channel!;
        if (d.channelBoundChannel.hasSubscribers)
          d.publishChannel(this.#o.server, c.number, c.peer, c.confirmed);
        c.inFlight = false;
        c.confirmed = true;
        c.refreshAt = nowMs + this.#o.channelRefreshMs;
        c.expiresAt = nowMs + TURN_CHANNEL_LIFETIME_MS;
        break;
      }
      case 'close':
        this.#finishClose();
        return;
    }
    if (pending.op !== 0) this.#events.push({ type: 'done', op: pending.op });
  }

  #granted(lifetimeS: number, nowMs: number): void {
    this.#grantedS = lifetimeS;
    this.#expiresAt = nowMs + lifetimeS * 1000;
    this.#refreshAt = nowMs + lifetimeS * 1000 * this.#o.refreshRatio;
  }

  #onTimeout(pending: Pending): void {
    this.#c.timeouts++;
    const error = new TimeoutError(`no answer from the TURN server to ${pending.kind}`);
    // A scheduled refresh that timed out is retried by the timers while the state lives.
    if (pending.kind === 'refresh') this.#refreshInFlight = false;
    else if (pending.kind === 'permission' && pending.permission!.installed)
      pending.permission!.inFlight = false;
    else if (pending.kind === 'channel' && pending.channel!.confirmed) pending.channel!.inFlight = false;
    else {
      this.#fail(pending, error);
      return;
    }
    if (pending.op !== 0) this.#events.push({ type: 'failed', op: pending.op, error });
  }

  #fail(pending: Pending, error: TurnError | TimeoutError): void {
    switch (pending.kind) {
      case 'allocate':
        this.#state = 'failed';
        if (d.allocationFailedChannel.hasSubscribers) d.publishFailed(this.#o.server, 'allocate', error);
        break;
      case 'refresh':
        this.#refreshInFlight = false;
        this.#lose(
          error instanceof TurnError ? error : new TurnError(TurnErrorCode.ALLOCATION_LOST, error.message),
        );
        break;
      case 'permission':
        if (d.operationFailedChannel.hasSubscribers) {
          const { ip, installed } = pending.permission!;
          d.publishOperationFailed(this.#o.server, 'permission', ip, error, installed);
        }
        if (pending.permission!.installed) pending.permission!.inFlight = false;
        else this.#permissions.delete(pending.permission!.ip);
        break;
      case 'channel':
        if (d.operationFailedChannel.hasSubscribers) {
          const { peer, confirmed } = pending.channel!;
          d.publishOperationFailed(this.#o.server, 'channel', peer, error, confirmed);
        }
        if (pending.channel!.confirmed) pending.channel!.inFlight = false;
        else this.#channels.delete(pending.channel!);
        break;
      case 'close':
        this.#finishClose();
        return;
    }
    if (pending.op !== 0) this.#events.push({ type: 'failed', op: pending.op, error });
  }

  #lose(cause: TurnError): void {
    if (this.#state !== 'allocated') return;
    this.#state = 'failed';
    const error = new TurnError(
      TurnErrorCode.ALLOCATION_LOST,
      `the TURN allocation is lost: ${cause.message}`,
      cause.status,
      { cause },
    );
    this.#abandonAll(error);
    this.#events.push({ type: 'lost', error });
    if (d.allocationFailedChannel.hasSubscribers) d.publishFailed(this.#o.server, 'lost', error);
  }

  /** Fails every operation in flight with `error` and forgets permissions and channels. */
  #abandonAll(error: Error): void {
    for (const pending of this.#transactions.drain()) {
      if (pending.op !== 0) this.#events.push({ type: 'failed', op: pending.op, error });
    }
    this.#refreshInFlight = false;
    this.#permissions.clear();
    this.#channels.clear();
    this.#refreshAt = Number.POSITIVE_INFINITY;
    this.#expiresAt = Number.POSITIVE_INFINITY;
  }

  #finishClose(): void {
    this.#state = 'closed';
    this.#events.push({ type: 'closed' });
    if (d.allocationClosedChannel.hasSubscribers) d.publishClosed(this.#o.server, this.#relayed);
  }

  /** 3. Refresh the allocation, permissions and channels when due; lose what expired. RFC 8656 §8, §9, §12. */
  #runTimers(nowMs: number): void {
    if (this.#state !== 'allocated') return;
    if (nowMs >= this.#expiresAt) {
      this.#lose(new TurnError(TurnErrorCode.ALLOCATION_LOST, 'the allocation expired without a refresh'));
      return;
    }
    if (nowMs >= this.#refreshAt && !this.#refreshInFlight) {
      const attributes = this.#o.lifetimeS === undefined ? [] : [makeLifetime(this.#o.lifetimeS)];
      this.#request('refresh', 0, TurnMethod.REFRESH, attributes, nowMs, {});
    }
    for (const p of this.#permissions.values()) {
      if (p.installed && nowMs >= p.expiresAt && !p.inFlight) this.#permissions.delete(p.ip);
      else if (p.installed && !p.inFlight && nowMs >= p.refreshAt) this.#sendPermission(p, 0, nowMs);
    }
    for (const c of this.#channels.values()) {
      if (c.confirmed && nowMs >= c.expiresAt && !c.inFlight) this.#channels.delete(c);
      else if (c.confirmed && !c.inFlight && nowMs >= c.refreshAt) this.#sendChannelBind(c, 0, nowMs);
    }
  }

  #nextWakeMs(): number {
    let next = this.#transactions.nextWakeMs();
    if (this.#state === 'allocated') {
      next = Math.min(next, this.#expiresAt);
      if (!this.#refreshInFlight) next = Math.min(next, this.#refreshAt);
      for (const p of this.#permissions.values()) {
        if (p.installed && !p.inFlight) next = Math.min(next, p.refreshAt, p.expiresAt);
      }
      for (const c of this.#channels.values()) {
        if (c.confirmed && !c.inFlight) next = Math.min(next, c.refreshAt, c.expiresAt);
      }
    }
    return next;
  }
}
