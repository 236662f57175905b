/**
 * One link between two peers as a sans-I/O core: paced simultaneous punching toward every
 * candidate, authenticated probes (HMAC with the broker's punch secret), the RFC 8445 §7.2.5.2.1
 * symmetric check, peer-reflexive learning (§7.3.1.3), triggered checks (§7.3.1.4), nomination
 * by the initiator, keepalives and re-punching, and port prediction against one symmetric NAT.
 *
 * Sockets are numbered: 0 is the peer's data socket (shared with the broker through mux), 1…n
 * are the extra sockets prediction asks the driver to open (`open-sockets`).
 * @module
 */
import type { NatEndpoint } from '../nat/index.ts';
import { type AgentCoreOptions, checkAgentIdentity, resolvePunchTuning } from './agent-options.ts';
import { AgentTargets, type PunchTarget } from './agent-targets.ts';
import { LinkRole, type LinkRoleType } from './broker-wire.ts';
import { isPrivateAddress } from './candidate-hygiene.ts';
import { type PredictionPlan, planPrediction } from './prediction.ts';
import { PredictionRun } from './prediction-run.ts';
import {
  decodePunch,
  encodePunch,
  encodePunchClose,
  PunchFlag,
  type PunchFrame,
  PunchMessage,
  verifyPunch,
} from './wire.ts';

const KEEPALIVE_RETRY_MS = 1000;
const MAX_OUTSTANDING = 8192;
/** Copies of a CLOSE sent back to back (datagram loss; duplicates are harmless). */
export const PUNCH_CLOSE_COPIES = 3;
/** Most remote candidates, peer-reflexive ones included. */
export const MAX_REMOTE_CANDIDATES = 32;
/** Most candidates taken from one introduction (the rest are dropped and counted). */
export const MAX_INTRODUCED_CANDIDATES = 8;

/** How the link's path was made. */
export type PathKind = 'direct' | 'predicted' | 'relay';

/** An instruction or report of the core. */
export type AgentAction =
  | {
      readonly type: 'send';
      readonly socket: number;
      readonly to: NatEndpoint;
      readonly data: Buffer;
      readonly ttl?: number;
    }
  | { readonly type: 'open-sockets'; readonly count: number }
  | { readonly type: 'close-sockets'; readonly keep: number | null }
  | { readonly type: 'path'; readonly socket: number; readonly remote: NatEndpoint; readonly kind: PathKind }
  | { readonly type: 'path-lost' }
  | { readonly type: 'closed-by-peer' }
  | { readonly type: 'failed'; readonly reason: string };

/** Counters of an {@link AgentCore}. */
export interface AgentStats {
  readonly state: 'punching' | 'connected' | 'failed' | 'closed';
  readonly probesSent: number;
  readonly predictionProbes: number;
  readonly repliesSent: number;
  readonly validated: number;
  readonly peerReflexive: number;
  readonly repunches: number;
  readonly malformed: number;
  /** Frames with another link id. */
  readonly otherLink: number;
  /** Frames with a wrong HMAC (forged or stale). */
  readonly badMac: number;
  /** Replies that failed the symmetric check or answered nothing we sent. */
  readonly unmatchedReplies: number;
  /** Our own role in the sender field (reflections). */
  readonly reflected: number;
  readonly candidatesDropped: number;
  /** Private host candidates the local policy refused (`privateCandidates`). */
  readonly candidatesRefused: number;
  /** Host candidates whose probes ran out unanswered this round (probing them stopped). */
  readonly candidatesSilent: number;
  /** Authenticated CLOSE frames from the peer (0 or 1). */
  readonly remoteCloses: number;
}

interface Outstanding {
  readonly socket: number;
  readonly to: NatEndpoint;
  readonly flags: number;
  readonly predicted: boolean;
}

/** The punching state machine of one link. */
export class AgentCore {
  readonly #linkId: Buffer;
  readonly #role: LinkRoleType;
  readonly #secret: Buffer;
  readonly #random: () => number;
  readonly #paceMs: number;
  readonly #punchTimeoutMs: number;
  readonly #keepaliveMs: number;
  readonly #keepaliveTries: number;
  readonly #lowTtl: number | undefined;
  readonly #targets: AgentTargets;
  readonly #prediction: PredictionRun | null;
  readonly #outstanding = new Map<number, Outstanding>();
  #actions: AgentAction[] = [];
  #state: AgentStats['state'] = 'punching';
  #seq = 1;
  #startMs = -1;
  #deadlineMs = 0;
  #nextPaceMs = 0;
  // Nomination (initiator) and the selected path.
  #nominating: Outstanding | null = null;
  /** Whether the pair being nominated came through prediction (its label, sent as PunchFlag.PREDICTED). */
  #nominateViaPrediction = false;
  #nominateAtMs = 0;
  #path: { socket: number; remote: NatEndpoint } | null = null;
  /** Whether the selected path is labelled `predicted` (a responder repeats it in its NOMINATE replies). */
  #pathPredicted = false;
  #keepaliveAtMs = 0;
  #keepaliveMisses = 0;
  #keepalivePending = false;
  // Prediction.
  #extraSockets = 0;
  /** An extra socket kept as the path's socket (prediction won on it), or 0. */
  #keptSocket = 0;
  #c = {
    probesSent: 0,
    predictionProbes: 0,
    repliesSent: 0,
    validated: 0,
    peerReflexive: 0,
    repunches: 0,
    malformed: 0,
    otherLink: 0,
    badMac: 0,
    unmatchedReplies: 0,
    reflected: 0,
    candidatesDropped: 0,
    candidatesRefused: 0,
    remoteCloses: 0,
  };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad link id, secret, role or timing. */
  constructor(options: AgentCoreOptions) {
    checkAgentIdentity(options);
    const tuning = resolvePunchTuning(options);
    this.#linkId = options.linkId;
    this.#role = options.role;
    this.#secret = options.secret;
    this.#random = options.random ?? Math.random;
    this.#paceMs = tuning.paceMs;
    this.#punchTimeoutMs = tuning.punchTimeoutMs;
    this.#keepaliveMs = tuning.keepaliveMs;
    this.#keepaliveTries = tuning.keepaliveTries;
    this.#lowTtl = tuning.lowTtl;
    const pred = tuning.prediction;
    const v6 = options.family === 'udp6';
    this.#targets = new AgentTargets(tuning.recheckMs, MAX_REMOTE_CANDIDATES, tuning.maxSilentProbes);
    // Candidate hygiene (RFC 8445 §19.5.1): a cap per introduction, and private host candidates only
    // from a peer behind our own public IP (else they name someone else's LAN).
    const remoteSrflx = options.remoteCandidates.find((c) => c.kind === 'srflx')?.address;
    const privateOk =
      tuning.privateCandidates === 'always' ||
      (tuning.privateCandidates === 'same-public-address' &&
        (options.localPublicAddress === undefined || options.localPublicAddress === remoteSrflx));
    let srflx: NatEndpoint | null = null;
    let taken = 0;
    for (const c of options.remoteCandidates) {
      if (c.kind === 'relay' || c.address.includes(':') !== v6) continue;
      if (c.kind === 'host' && !privateOk && isPrivateAddress(c.address)) {
        this.#c.candidatesRefused++;
        continue;
      }
      if (taken >= MAX_INTRODUCED_CANDIDATES || !this.#targets.add(c, 0)) {
        this.#c.candidatesDropped++;
        continue;
      }
      taken++;
      if (c.kind === 'srflx') srflx = { address: c.address, port: c.port };
    }
    const plan =
      options.prediction === false || srflx === null
        ? null
        : planPrediction(options.localNat ?? 'unknown', options.remoteNat ?? 'unknown', pred.fallbackMs);
    this.#prediction =
      plan === null || srflx === null ? null : new PredictionRun(plan, pred, srflx, this.#random);
  }

  /** The state now. */
  get state(): AgentStats['state'] {
    return this.#state;
  }

  /** The selected path (socket index and remote address), or null. */
  get path(): { readonly socket: number; readonly remote: NatEndpoint } | null {
    return this.#path;
  }

  /** This side's prediction plan (null: no prediction). */
  get prediction(): PredictionPlan | null {
    return this.#prediction?.plan ?? null;
  }

  /**
   * Starts punching. After a lost path it punches for at least one keepalive interval plus the
   * retries, so that the peer's next keepalive (from its new mapping) is heard.
   */
  start(nowMs: number, afterLoss = false): void {
    if (this.#state === 'closed') return;
    if (this.#keptSocket > 0 || this.#extraSockets > 0)
      this.#actions.push({ type: 'close-sockets', keep: null });
    this.#keptSocket = 0;
    this.#extraSockets = 0;
    this.#state = 'punching';
    this.#startMs = nowMs;
    const window = afterLoss
      ? Math.max(this.#punchTimeoutMs, this.#keepaliveMs + this.#keepaliveTries * KEEPALIVE_RETRY_MS)
      : this.#punchTimeoutMs;
    this.#deadlineMs = nowMs + window;
    this.#nextPaceMs = nowMs;
    this.#path = null;
    this.#nominating = null;
    this.#prediction?.reset(nowMs);
    this.#targets.reset(nowMs);
    this.poll(nowMs);
  }

  /**
   * The driver opened `count` of the asked extra sockets (numbered 1…count). False: they are no
   * longer wanted (a path came up meanwhile, or the link failed) — close them all.
   */
  socketsOpened(count: number, nowMs: number): boolean {
    const run = this.#prediction;
    if (this.#state !== 'punching' || run?.plan.role !== 'hard' || !run.started) return false;
    this.#extraSockets = count;
    run.socketsOpened(count, nowMs);
    this.poll(nowMs);
    return true;
  }

  /** Takes one punch frame received on `socket` from `from`. Bad input is counted and dropped. */
  receive(data: Buffer, from: NatEndpoint, socket: number, nowMs: number): void {
    if (this.#state === 'closed') return;
    let frame: PunchFrame;
    try {
      frame = decodePunch(data);
    } catch {
      this.#c.malformed++;
      return;
    }
    if (!frame.linkId.equals(this.#linkId)) {
      this.#c.otherLink++;
      return;
    }
    if (frame.type === PunchMessage.DATA) return;
    // Failed (on a relay, or about to close): only the peer's CLOSE still matters.
    if (this.#state === 'failed' && frame.type !== PunchMessage.CLOSE) return;
    if (frame.sender === this.#role) {
      this.#c.reflected++;
      return;
    }
    if (!verifyPunch(frame, this.#secret)) {
      this.#c.badMac++;
      return;
    }
    if (frame.type === PunchMessage.CLOSE) this.#onClose();
    else if (frame.type === PunchMessage.PROBE) this.#onProbe(frame, from, socket, nowMs);
    else this.#onReply(frame, from, socket, nowMs);
  }

  /** An authenticated CLOSE from the peer: the link is over, nothing to re-punch. */
  #onClose(): void {
    this.#stop();
    this.#c.remoteCloses++;
    this.#actions.push({ type: 'closed-by-peer' });
  }

  #onProbe(
    frame: Extract<PunchFrame, { type: 1 | 2 }>,
    from: NatEndpoint,
    socket: number,
    nowMs: number,
  ): void {
    this.#emitSend(
      socket,
      from,
      encodePunch(
        {
          type: 2,
          flags: this.#replyFlags(frame.flags, from, socket),
          linkId: this.#linkId,
          sender: this.#role,
          seq: frame.seq,
          address: from,
        },
        this.#secret,
      ),
    );
    this.#c.repliesSent++;
    let target = this.#targets.find(socket, from);
    if (target === undefined && this.#state === 'punching') {
      // RFC 8445 §7.3.1.3: an authenticated check from an unknown address is a peer-reflexive candidate.
      target =
        this.#targets.add({ kind: 'prflx', address: from.address, port: from.port }, socket) ?? undefined;
      if (target === undefined) this.#c.candidatesDropped++;
      else this.#c.peerReflexive++;
    }
    if (target !== undefined) target.heard = true;
    if (this.#state === 'punching' && target !== undefined && !target.validated) {
      // RFC 8445 §7.3.1.4: a triggered check on the pair the probe came in on.
      this.#probe(target, 0, nowMs, false);
    }
    if (this.#role !== LinkRole.RESPONDER) return;
    // The initiator nominates; its keepalive on a path also names it (after a mapping change
    // only one side may notice: the other keeps sending keepalives from its new mapping).
    const names = (frame.flags & (PunchFlag.NOMINATE | PunchFlag.KEEPALIVE)) !== 0;
    const current = this.#path;
    const moved =
      current === null ||
      current.socket !== socket ||
      current.remote.port !== from.port ||
      current.remote.address !== from.address;
    if (names && (this.#state === 'punching' || (this.#state === 'connected' && moved))) {
      const named = (frame.flags & PunchFlag.PREDICTED) !== 0;
      this.#select(socket, from, target?.kind === 'prflx' || target?.predicted === true, nowMs, named);
    }
  }

  /**
   * A reply echoes the probe's flags. A responder's reply to a NOMINATE also carries its own label
   * of the pair (PunchFlag.PREDICTED when either end predicted), and the initiator takes the
   * label from that reply, so both ends name the path alike whichever end ran the prediction.
   */
  #replyFlags(flags: number, from: NatEndpoint, socket: number): number {
    if (this.#role !== LinkRole.RESPONDER || (flags & PunchFlag.NOMINATE) === 0) return flags;
    const p = this.#path;
    if (
      this.#state === 'connected' &&
      p !== null &&
      p.socket === socket &&
      p.remote.address === from.address &&
      p.remote.port === from.port
    )
      return this.#pathPredicted ? flags | PunchFlag.PREDICTED : flags & ~PunchFlag.PREDICTED;
    const target = this.#targets.find(socket, from);
    // As #onProbe will see it: an unknown address becomes a peer-reflexive target while punching.
    const via =
      target === undefined ? this.#state === 'punching' : target.kind === 'prflx' || target.predicted;
    return (flags & PunchFlag.PREDICTED) !== 0 || this.#predictedPair(socket, via)
      ? flags | PunchFlag.PREDICTED
      : flags;
  }

  /** Whether this end reached the pair through its own prediction (a prediction socket, probe or peer-reflexive address). */
  #predictedPair(socket: number, viaPrediction: boolean): boolean {
    return this.#prediction?.started === true && (socket > 0 || viaPrediction);
  }

  #onReply(
    frame: Extract<PunchFrame, { type: 1 | 2 }>,
    from: NatEndpoint,
    socket: number,
    nowMs: number,
  ): void {
    const sent = this.#outstanding.get(frame.seq);
    // RFC 8445 §7.2.5.2.1: the response must come from where the request went, on the same socket.
    if (
      sent === undefined ||
      sent.socket !== socket ||
      sent.to.port !== from.port ||
      sent.to.address !== from.address
    ) {
      this.#c.unmatchedReplies++;
      return;
    }
    this.#outstanding.delete(frame.seq);
    if ((sent.flags & PunchFlag.KEEPALIVE) !== 0) {
      this.#keepaliveMisses = 0;
      this.#keepalivePending = false;
      this.#keepaliveAtMs = nowMs + this.#keepaliveMs;
      return;
    }
    if (this.#state !== 'punching') return;
    const target =
      this.#targets.find(socket, from) ??
      this.#targets.add({ kind: 'prflx', address: from.address, port: from.port }, socket, sent.predicted);
    if (target !== null) target.heard = true;
    if (target !== null && !target.validated) {
      target.validated = true;
      this.#c.validated++;
    }
    if (this.#role !== LinkRole.INITIATOR) return;
    if ((sent.flags & PunchFlag.NOMINATE) !== 0) {
      this.#select(
        socket,
        from,
        sent.predicted || target?.kind === 'prflx',
        nowMs,
        false,
        (frame.flags & PunchFlag.PREDICTED) !== 0,
      );
    } else if (this.#nominating === null) {
      this.#nominating = { socket, to: from, flags: PunchFlag.NOMINATE, predicted: sent.predicted };
      this.#nominateViaPrediction = sent.predicted || target?.kind === 'prflx';
      this.#nominateAtMs = nowMs;
      this.poll(nowMs);
    }
  }

  /**
   * `viaPrediction`: the pair came from a prediction socket, probe or peer-reflexive address while
   * prediction ran; `namedPredicted`: the initiator's NOMINATE said so (PunchFlag.PREDICTED);
   * `label`: the label both ends agreed on (the initiator, from the responder's reply).
   */
  #select(
    socket: number,
    remote: NatEndpoint,
    viaPrediction: boolean,
    nowMs: number,
    namedPredicted = false,
    label?: boolean,
  ): void {
    const predicted = label ?? (namedPredicted || this.#predictedPair(socket, viaPrediction));
    this.#pathPredicted = predicted;
    this.#state = 'connected';
    this.#path = { socket, remote: { address: remote.address, port: remote.port } };
    this.#nominating = null;
    this.#keepaliveAtMs = nowMs + this.#keepaliveMs;
    this.#keepaliveMisses = 0;
    this.#keepalivePending = false;
    if (this.#extraSockets > 0)
      this.#actions.push({ type: 'close-sockets', keep: socket > 0 ? socket : null });
    this.#extraSockets = 0;
    this.#keptSocket = socket;
    this.#outstanding.clear();
    this.#actions.push({
      type: 'path',
      socket,
      remote: this.#path.remote,
      kind: predicted ? 'predicted' : 'direct',
    });
  }

  /** Sends what is due and checks deadlines. Call at {@link nextWakeMs}. */
  poll(nowMs: number): void {
    if (this.#state === 'connected') {
      this.#pollKeepalive(nowMs);
      return;
    }
    if (this.#state !== 'punching' || this.#startMs < 0) return;
    if (nowMs >= this.#deadlineMs) {
      this.#fail('no path before the punch deadline', nowMs);
      return;
    }
    if (this.#nominating !== null && nowMs >= this.#nominateAtMs) {
      const n = this.#nominating;
      this.#nominateAtMs = nowMs + this.#targets.recheckMs;
      // The initiator labels the pair as #select will: the responder adopts that label, so both
      // ends of a pr <-> sym link say `predicted` even when its own end is the main socket.
      const label = this.#predictedPair(n.socket, this.#nominateViaPrediction);
      const flags = label ? PunchFlag.NOMINATE | PunchFlag.PREDICTED : PunchFlag.NOMINATE;
      this.#sendProbe(n.socket, n.to, flags, n.predicted, undefined);
    }
    while (nowMs >= this.#nextPaceMs) {
      const target = this.#targets.due(nowMs);
      if (target === undefined) break;
      this.#probe(target, 0, nowMs, true);
      this.#nextPaceMs = Math.max(this.#nextPaceMs + this.#paceMs, nowMs - this.#paceMs);
    }
    this.#pollPrediction(nowMs);
  }

  #probe(target: PunchTarget, flags: number, nowMs: number, paced: boolean): void {
    const ttl = target.sends === 0 && this.#lowTtl !== undefined ? this.#lowTtl : undefined;
    target.sends++;
    target.roundSends++;
    if (paced) target.nextAtMs = nowMs + this.#targets.recheckMs;
    this.#sendProbe(target.socket, target, flags, target.predicted, ttl);
  }

  #pollPrediction(nowMs: number): void {
    const run = this.#prediction;
    if (run === null || this.#nominating !== null || this.#targets.anyValidated()) return;
    for (let step = run.step(nowMs); step !== null; step = run.step(nowMs)) {
      if (step.type === 'open') {
        this.#actions.push({ type: 'open-sockets', count: step.count });
        continue;
      }
      this.#c.predictionProbes++;
      this.#sendProbe(step.socket, step.to, 0, true, undefined);
    }
  }

  #pollKeepalive(nowMs: number): void {
    const path = this.#path;
    if (path === null || nowMs < this.#keepaliveAtMs) return;
    if (this.#keepalivePending) this.#keepaliveMisses++;
    if (this.#keepaliveMisses >= this.#keepaliveTries) {
      // The mapping is gone (or the peer): punch again toward every candidate.
      this.#c.repunches++;
      this.#actions.push({ type: 'path-lost' });
      this.start(nowMs, true);
      return;
    }
    this.#keepalivePending = true;
    this.#keepaliveAtMs = nowMs + KEEPALIVE_RETRY_MS;
    this.#sendProbe(path.socket, path.remote, PunchFlag.KEEPALIVE, false, undefined);
  }

  /** The path carried data or a keepalive answer: push the next keepalive out. */
  heard(nowMs: number): void {
    if (this.#state !== 'connected' || this.#keepalivePending) return;
    this.#keepaliveAtMs = nowMs + this.#keepaliveMs;
  }

  #fail(reason: string, nowMs: number): void {
    this.#state = 'failed';
    this.#outstanding.clear();
    if (this.#extraSockets > 0) this.#actions.push({ type: 'close-sockets', keep: null });
    this.#extraSockets = 0;
    this.#actions.push({ type: 'failed', reason: `${reason} (${nowMs - this.#startMs} ms)` });
  }

  #sendProbe(
    socket: number,
    to: NatEndpoint,
    flags: number,
    predicted: boolean,
    ttl: number | undefined,
  ): void {
    const seq = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    if (this.#outstanding.size >= MAX_OUTSTANDING) {
      const oldest = this.#outstanding.keys().next();
      if (oldest.done !== true) this.#outstanding.delete(oldest.value);
    }
    const remote = { address: to.address, port: to.port };
    this.#outstanding.set(seq, { socket, to: remote, flags, predicted });
    this.#c.probesSent++;
    const data = encodePunch(
      { type: 1, flags, linkId: this.#linkId, sender: this.#role, seq, address: remote },
      this.#secret,
    );
    this.#actions.push(
      ttl === undefined
        ? { type: 'send', socket, to: remote, data }
        : { type: 'send', socket, to: remote, data, ttl },
    );
  }

  #emitSend(socket: number, to: NatEndpoint, data: Buffer): void {
    this.#actions.push({ type: 'send', socket, to: { address: to.address, port: to.port }, data });
  }

  /** When {@link poll} next has work (Infinity: nothing scheduled). */
  nextWakeMs(): number {
    if (this.#state === 'connected') return this.#keepaliveAtMs;
    if (this.#state !== 'punching' || this.#startMs < 0) return Number.POSITIVE_INFINITY;
    let next = this.#deadlineMs;
    if (this.#nominating !== null) next = Math.min(next, this.#nominateAtMs);
    const due = this.#targets.nextWakeMs();
    if (due < Number.POSITIVE_INFINITY) next = Math.min(next, Math.max(due, this.#nextPaceMs));
    if (this.#prediction !== null && this.#nominating === null && !this.#targets.anyValidated()) {
      next = Math.min(next, this.#prediction.nextWakeMs());
    }
    return next;
  }

  /** Instructions and reports since the last call. */
  drain(): AgentAction[] {
    const out = this.#actions;
    this.#actions = [];
    return out;
  }

  /**
   * Stops the link for good (idempotent); extra sockets are to be closed. When a path is up it
   * first queues {@link PUNCH_CLOSE_COPIES} authenticated CLOSE frames to the peer on it, so the
   * peer ends its side instead of re-punching.
   */
  close(): void {
    if (this.#state === 'closed') return;
    const path = this.#path;
    if (this.#state === 'connected' && path !== null) {
      const frame = this.closeFrame();
      for (let i = 0; i < PUNCH_CLOSE_COPIES; i++) this.#emitSend(path.socket, path.remote, frame);
    }
    this.#stop();
  }

  /** An authenticated CLOSE of this link (for a path the core does not see, e.g. a relay). */
  closeFrame(): Buffer {
    const seq = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    return encodePunchClose({ linkId: this.#linkId, sender: this.#role, seq }, this.#secret);
  }

  #stop(): void {
    if (this.#extraSockets > 0 || this.#keptSocket > 0)
      this.#actions.push({ type: 'close-sockets', keep: null });
    this.#state = 'closed';
    this.#extraSockets = 0;
    this.#keptSocket = 0;
    this.#outstanding.clear();
    this.#path = null;
  }

  stats(): AgentStats {
    return { state: this.#state, ...this.#c, candidatesSilent: this.#targets.silentCount() };
  }

  /** How long punching has run, ms (0 before start). */
  elapsedMs(nowMs: number): number {
    return this.#startMs < 0 ? 0 : nowMs - this.#startMs;
  }
}
