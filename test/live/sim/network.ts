// Virtual links of the swarm simulator: per-node upload and download bandwidth, per-pair
// latency with jitter, and random packet loss as the ARQ layer turns it into delay and
// retransmitted bytes. Each ordered pair has two FIFO conversations (control, data), as the peer
// protocol has: a frame never overtakes an earlier one of the same conversation.

/** Bytes of one ARQ segment's payload (KCP MTU 1400 - 24-byte header). */
export const MSS_BYTES = 1376;
/** Per-segment overhead on the wire: KCP header + porthole frame byte + UDP/IP. */
const SEGMENT_OVERHEAD_BYTES = 24 + 1 + 28;
/** ARQ's extra wait per loss round beyond the RTT (the 10 ms flush interval of ARQ_TURBO). */
const ARQ_INTERVAL_MS = 10;

/** What one node's access link looks like. */
export interface NodeLink {
  /** Upload bandwidth, bit/s. */
  readonly upBps: number;
  /** Download bandwidth, bit/s. */
  readonly downBps: number;
  /** Position for the latency model, in ms of one-way delay units. */
  readonly x: number;
  readonly y: number;
}

interface PairState {
  controlAtMs: number;
  dataAtMs: number;
}

/** The virtual network. */
export class VirtualNetwork {
  readonly lossRate: number;
  readonly jitterMs: number;
  readonly #random: () => number;
  readonly #links = new Map<number, NodeLink>();
  readonly #upFreeAt = new Map<number, number>();
  /**
   * Each downlink's reserved receive intervals, [start, end) pairs in time order: a frame takes
   * the first gap at or after its arrival, so a frame that arrives later (its sender's uplink is
   * seconds behind) never holds up one that arrives sooner.
   */
  readonly #downBusy = new Map<number, number[]>();
  readonly #pairs = new Map<number, PairState>();
  /** Lost segments of the frame being sent: index, times lost (reused). */
  readonly #lost: number[] = [];
  /** Bytes put on the wire, retransmissions included. */
  wireBytes = 0;
  retransmittedSegments = 0;

  constructor(lossRate: number, jitterMs: number, random: () => number) {
    this.lossRate = lossRate;
    this.jitterMs = jitterMs;
    this.#random = random;
  }

  attach(node: number, link: NodeLink): void {
    this.#links.set(node, link);
    this.#upFreeAt.set(node, 0);
    this.#downBusy.set(node, []);
  }

  detach(node: number): void {
    this.#links.delete(node);
    this.#downBusy.delete(node);
  }

  /** One-way propagation delay between two nodes, ms: 5 ms plus their distance. */
  oneWayMs(a: number, b: number): number {
    const la = this.#links.get(a)!;
    const lb = this.#links.get(b)!;
    return 5 + Math.hypot(la.x - lb.x, la.y - lb.y);
  }

  /**
   * When a frame of `bytes` sent by `from` at `nowMs` arrives at `to`, ms; `data` picks the data
   * conversation (queued behind earlier data on the uplink) or control (sent at once).
   */
  send(from: number, to: number, bytes: number, data: boolean, nowMs: number): number {
    const up = this.#links.get(from);
    const down = this.#links.get(to);
    if (up === undefined || down === undefined) return Number.NaN;
    const segments = Math.max(1, Math.ceil(bytes / MSS_BYTES));
    // Loss: each segment is lost with p per transmission; ARQ resends it about an RTT (+ one
    // flush interval) after it went out — fast retransmit: the ACKs of later segments reveal the
    // gap while the rest of the message is still being serialised. Segment i of n leaves
    // (n - 1 - i) / n of the serialisation before the message's last byte, so a loss early in a
    // large message costs less than one at its end (which costs the whole round trip).
    let resent = 0;
    const lost = this.#lost;
    lost.length = 0;
    const p = this.lossRate;
    if (p > 0) {
      for (let i = 0; i < segments; i++) {
        let k = 0;
        while (this.#random() < p) k++;
        if (k === 0) continue;
        resent += k;
        lost.push(i, k);
      }
    }
    this.retransmittedSegments += resent;
    const wire = bytes + (segments + resent) * SEGMENT_OVERHEAD_BYTES + resent * MSS_BYTES;
    this.wireBytes += wire;
    const oneWay = this.oneWayMs(from, to);
    const key = from * 1_000_003 + to;
    let pair = this.#pairs.get(key);
    if (pair === undefined) {
      pair = { controlAtMs: 0, dataAtMs: 0 };
      this.#pairs.set(key, pair);
    }
    const txMs = (wire * 8000) / up.upBps;
    let departMs: number;
    if (data) {
      const start = Math.max(nowMs, this.#upFreeAt.get(from)!);
      departMs = start + txMs;
      this.#upFreeAt.set(from, departMs);
    } else {
      departMs = nowMs + txMs;
      this.#upFreeAt.set(from, Math.max(nowMs, this.#upFreeAt.get(from)!) + txMs);
    }
    let late = 0;
    if (lost.length > 0) {
      const round = 2 * oneWay + ARQ_INTERVAL_MS;
      for (let j = 0; j < lost.length; j += 2) {
        const ahead = ((segments - 1 - lost[j]!) / segments) * txMs;
        late = Math.max(late, lost[j + 1]! * round - ahead);
      }
    }
    let arrive = departMs + oneWay + this.#random() * this.jitterMs;
    if (data) {
      // The downlink serialises what reaches it; a frame's own loss rounds delay it (and what
      // follows it on its conversation), not other senders' frames.
      arrive = this.#receive(to, arrive, (wire * 8000) / down.downBps, nowMs);
      arrive = Math.max(arrive + late, pair.dataAtMs);
      pair.dataAtMs = arrive;
    } else {
      arrive = Math.max(arrive + late, pair.controlAtMs);
      pair.controlAtMs = arrive;
    }
    return arrive;
  }

  /** Reserves `rxMs` of `to`'s downlink in the first gap from `atMs` on; returns when it ends. */
  #receive(to: number, atMs: number, rxMs: number, nowMs: number): number {
    const busy = this.#downBusy.get(to)!;
    let drop = 0;
    while (drop < busy.length && busy[drop + 1]! <= nowMs) drop += 2;
    if (drop > 0) busy.splice(0, drop);
    let start = atMs;
    let i = 0;
    for (; i < busy.length; i += 2) {
      if (busy[i + 1]! <= start) continue;
      if (busy[i]! >= start + rxMs) break;
      start = busy[i + 1]!;
    }
    busy.splice(i, 0, start, start + rxMs);
    return start + rxMs;
  }

  /** Forgets the FIFO state of both directions between two nodes (after a disconnect). */
  forgetPair(a: number, b: number): void {
    this.#pairs.delete(a * 1_000_003 + b);
    this.#pairs.delete(b * 1_000_003 + a);
  }
}
