/**
 * Playout: joins at a random-access chunk, plays each chunk at its deadline a fixed delay behind
 * the live edge, skips a chunk that missed its deadline (a counted discontinuity) and reports
 * stalls. Sans-I/O: {@link Playout.poll} plays what is due at `nowMs`.
 *
 * The clock needs no synchronisation with the source: the playout point is anchored at the local
 * time the join chunk was played, and chunk `s` is due `(ts(s) - ts(join))` after it.
 *
 * The playout never runs past the live edge (see {@link Playout.poll}): it holds at a chunk nobody
 * has yet. A node that knows more than the newest announcement (a {@link PlayoutView}: what exists
 * by its own store and its edge's word, and what its neighbours announced) also skips at once the
 * numbers that turn out never to exist — a source that restarted numbers by its clock, further on
 * — and plays the restarted stream, marked as a discontinuity, a target delay behind it.
 *
 * Nor does it stay far behind: a node more than `maxDelayMs` behind the live edge (a source that
 * stalled and then delivered its backlog at once, a starved stretch of its own) is a live viewer
 * watching the past, and its neighbours no longer keep what it needs. It plays faster
 * ({@link PLAYOUT_CATCH_UP_RATE}, nothing skipped: a player downstream buffers the difference)
 * until it is back at the target delay, as a live player raises its playback rate. Only a node
 * hopelessly behind (3 × `maxDelayMs`) or stuck is jumped forward by {@link Playout.jumpTo} to a
 * random-access chunk a target delay behind the edge (the chunks jumped over are skipped, the
 * next one played marks the discontinuity), as a live player seeks back to the live edge.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import type { Chunk } from './chunk.ts';
import { CHUNK_FLAG_DISCONTINUITY, CHUNK_FLAG_RANDOM_ACCESS, TS_PACKET_BYTES } from './constants.ts';

/** Default playout delay behind the source, ms (docs/live.md, "Scheduler parameters"). */
export const PLAYOUT_TARGET_DELAY_DEFAULT_MS = 1500;
/**
 * Default most a node plays behind the live edge before it catches up, ms: past it, the peers
 * at the live edge (which keep 16 chunks, 4 s, behind their own playout point) no longer hold
 * what it plays next, and only the edge and other laggards can serve it.
 */
export const PLAYOUT_MAX_DELAY_DEFAULT_MS = 4000;
/** Playout speed while catching up from more than `maxDelayMs` behind (1.25: a chunk of 250 ms in 200). */
export const PLAYOUT_CATCH_UP_RATE = 1.25;
/** Behind by more than this many `maxDelayMs`, a node jumps instead of playing faster. */
const JUMP_FACTOR = 3;

/** Playout settings. */
export interface PlayoutOptions {
  /** Delay behind the live edge to hold, ms; default {@link PLAYOUT_TARGET_DELAY_DEFAULT_MS}. */
  readonly targetDelayMs?: number;
  /** Time allowed to fetch the join chunk, ms; default 250. */
  readonly joinFetchMs?: number;
  /** Chunk duration assumed before the first chunk arrives, ms; default 250. */
  readonly chunkDurationMs?: number;
  /**
   * Delay behind the live edge past which the node plays faster to catch up (3 × it: jumps, see
   * {@link Playout.jumpTo}), ms;
   * default {@link PLAYOUT_MAX_DELAY_DEFAULT_MS} (or the target delay + 2.5 s when that is more);
   * at least the target delay plus a chunk.
   */
  readonly maxDelayMs?: number;
}

/** What playout emits for a due chunk. */
export type PlayoutEvent =
  | {
      readonly type: 'play';
      readonly seq: number;
      readonly payload: Buffer;
      readonly discontinuity: boolean;
      /** The chunk's signed header says it starts with a random-access point (a player may join here). */
      readonly randomAccess: boolean;
    }
  | { readonly type: 'skip'; readonly seq: number }
  | { readonly type: 'stall'; readonly seq: number }
  | { readonly type: 'resume'; readonly seq: number; readonly stalledMs: number };

/** What a node knows of the stream beyond its own store, for {@link Playout.poll}. */
export interface PlayoutView {
  /**
   * The newest chunk known to exist: held here, or announced by an edge. A peer's announcement is
   * a claim (a polluter claims chunks ahead of the stream); -1 none.
   */
  readonly newestSeq: number;
  /** Whether some neighbour announced `seq` (it exists, or is claimed to). */
  announced(seq: number): boolean;
}

/** Playout counters. */
export interface PlayoutStats {
  /** Chunks played at their deadline. */
  readonly played: number;
  /** Chunks skipped because they missed their deadline. */
  readonly skipped: number;
  /** played / (played + skipped); 1 before the first chunk. */
  readonly continuity: number;
  /** Runs of skipped chunks, and holds at the live edge. */
  readonly stalls: number;
  /** Chunks played marked as a discontinuity (after a skip, or flagged by the source), the first one aside. */
  readonly discontinuities: number;
  /** Media time lost to stalls, ms. */
  readonly stalledMs: number;
  /** Local time the first chunk was played, NaN before. */
  readonly startedAtMs: number;
  /** Times it played faster to get back from more than `maxDelayMs` behind the live edge. */
  readonly catchUps: number;
  /** Jumps forward (chunks skipped): hopelessly behind (3 × `maxDelayMs`) or stuck in a hold. */
  readonly jumps: number;
}

/** Weight of the newest chunk in the running mean of chunk durations (1/16). */
const DURATION_MEAN_WEIGHT = 16;

/** The playout core. */
export class Playout {
  readonly targetDelayMs: number;
  readonly joinFetchMs: number;
  readonly maxDelayMs: number;
  /** Running mean of the played chunks' durations, ms: the spacing assumed for chunks not held. */
  #durationMs: number;
  /** When {@link nextSeq} is due, ms, once started: the sum of the played chunks' own durations. */
  #nextDeadlineMs = Number.NaN;
  #joinSeq = -1;
  #joinTsMs = 0;
  #startMs = Number.NaN;
  #nextSeq = -1;
  #played = 0;
  #skipped = 0;
  #stalls = 0;
  #stalledMs = 0;
  #discontinuities = 0;
  #catchUps = 0;
  #jumps = 0;
  /** Playout speed: 1, or {@link PLAYOUT_CATCH_UP_RATE} while catching up. */
  #rate = 1;
  /** When the current stall (a run of skips, or a hold) began; NaN when none. */
  #stallSinceMs = Number.NaN;
  /** The chunk before the next one was skipped: the next one played is a discontinuity. */
  #gap = false;
  /** The playout point waits for a chunk nobody announced yet (see {@link Playout.poll}). */
  #holding = false;
  /** When the current hold began. */
  #holdSinceMs = 0;

  constructor(options: PlayoutOptions = {}) {
    this.targetDelayMs = options.targetDelayMs ?? PLAYOUT_TARGET_DELAY_DEFAULT_MS;
    this.joinFetchMs = options.joinFetchMs ?? 250;
    this.#durationMs = options.chunkDurationMs ?? 250;
    const max = options.maxDelayMs ?? Math.max(PLAYOUT_MAX_DELAY_DEFAULT_MS, this.targetDelayMs + 2500);
    if (!(max >= this.targetDelayMs + this.#durationMs) || !Number.isFinite(max))
      throw new InvalidOptionError('maxDelayMs', 'maxDelayMs: at least the target delay plus a chunk');
    this.maxDelayMs = max;
  }

  /** The chunk the node joined at, -1 before {@link join}. */
  get joinSeq(): number {
    return this.#joinSeq;
  }

  /** Whether the first chunk has been played. */
  get started(): boolean {
    return !Number.isNaN(this.#startMs);
  }

  /** The next chunk to play (the join chunk before the start), -1 before {@link join}. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /**
   * The join chunk among what the neighbours hold: the oldest random-access chunk that still
   * plays at the target delay once fetched, else the newest. `newest` is the live edge as the
   * neighbours know it; `oldestRapFrom(seq)` and `newestRap` come from their buffer maps.
   */
  pickJoin(newest: number, newestRap: number, oldestRapFrom: (seq: number) => number): number {
    const back = Math.floor((this.targetDelayMs - this.joinFetchMs) / this.#durationMs);
    const candidate = oldestRapFrom(Math.max(0, newest - back));
    return candidate >= 0 ? candidate : newestRap;
  }

  /**
   * Whether the playout point is more than 3 × `maxDelayMs` behind `newestSeq`, the newest chunk
   * known to exist (a {@link PlayoutView}'s): too far to play faster, time to {@link jumpTo}.
   * Never while holding at the edge.
   */
  behind(newestSeq: number): boolean {
    return !this.#holding && this.#delayMs(newestSeq) > JUMP_FACTOR * this.maxDelayMs;
  }

  /** Whether it is playing faster to catch up. */
  get catchingUp(): boolean {
    return this.#rate !== 1;
  }

  /**
   * Whether the playout has held for more than `forMs` at a chunk while `claimedSeq` — what the
   * neighbours claim, not what is known to exist — lies more than `maxDelayMs` past it: a hold the
   * node's own view keeps (its edge silent, every neighbour moved on past what it can fetch), not
   * a late source. See {@link jumpTo}.
   */
  stuck(claimedSeq: number, nowMs: number, forMs: number): boolean {
    return this.#holding && nowMs - this.#holdSinceMs > forMs && this.#delayMs(claimedSeq) > this.maxDelayMs;
  }

  /** Media time from the playout point to the end of `newestSeq`, ms; 0 before the start or past it. */
  #delayMs(newestSeq: number): number {
    if (!this.started || newestSeq < this.#nextSeq) return 0;
    return (newestSeq - this.#nextSeq + 1) * this.#durationMs;
  }

  /**
   * Starts playing faster past `maxDelayMs` behind `edgeSeq` (not while holding: then it is at
   * the edge) and back at normal speed once within the target delay plus a chunk.
   */
  #pace(edgeSeq: number): void {
    const delay = this.#delayMs(edgeSeq);
    if (this.#rate === 1) {
      if (this.#holding || delay <= this.maxDelayMs) return;
      this.#rate = PLAYOUT_CATCH_UP_RATE;
      this.#catchUps++;
    } else if (this.#holding || delay <= this.targetDelayMs + this.#durationMs) {
      this.#rate = 1;
    }
  }

  /**
   * Jumps the playout point forward to `seq` (a random-access chunk a target delay behind the
   * live edge, picked like a join chunk): the chunks before it are skipped (each a `skip` event,
   * one stall), the chunk `seq` is due after the join fetch time and played as a discontinuity.
   * A `seq` not past the playout point changes nothing.
   */
  jumpTo(seq: number, nowMs: number, emit: (e: PlayoutEvent) => void): void {
    if (!this.started || seq <= this.#nextSeq) return;
    this.#jumps++;
    this.#rate = 1;
    while (this.#nextSeq < seq) {
      this.#skip(this.#nextSeq, nowMs, emit);
      this.#nextSeq++;
    }
    this.#holding = false;
    this.#nextDeadlineMs = nowMs + this.joinFetchMs;
  }

  /** Sets the join chunk at `nowMs` (before the start; again if the first choice never came). */
  join(seq: number, nowMs: number): void {
    this.#joinSeq = seq;
    this.#nextSeq = seq;
    this.#startMs = Number.NaN;
    this.#nextDeadlineMs = Number.NaN;
    this.#joinTsMs = nowMs + this.joinFetchMs;
  }

  /**
   * When chunk `seq` is due, ms (local clock). Before the start: the join chunk as soon as it
   * comes. Once started, each chunk is due when the one before it has played for its own duration
   * (chunks cut at random-access points differ in length); chunks not yet played are assumed the
   * mean duration so far.
   */
  deadlineOf(seq: number, nowMs: number): number {
    if (!this.started) return Math.max(this.#joinTsMs, nowMs) + (seq - this.#joinSeq) * this.#durationMs;
    return this.#nextDeadlineMs + ((seq - this.#nextSeq) * this.#durationMs) / this.#rate;
  }

  /**
   * Plays or skips every chunk due at `nowMs`; `get(seq)` returns a held, verified chunk and
   * `liveEdgeSeq` is the newest chunk the neighbours announced. The join chunk starts playing once
   * it is held and the live edge is the target delay past it (at once in a running stream, where
   * the join chunk was picked that far back; later for a node that joins a stream just begun).
   * A due chunk past the live edge (nobody has it) is not skipped: the playout point holds there,
   * a stall, until it arrives or a newer chunk exists (then it is skipped, late). The live edge is
   * `view.newestSeq` when a `view` is given, else `liveEdgeSeq`; with a view, while it holds, the
   * numbers below the live edge that nobody announced are skipped at once (they never existed).
   */
  poll(
    nowMs: number,
    get: (seq: number) => Chunk | undefined,
    emit: (e: PlayoutEvent) => void,
    liveEdgeSeq = Number.POSITIVE_INFINITY,
    view?: PlayoutView,
  ): void {
    if (this.#joinSeq < 0) return;
    if (!this.started) {
      const first = get(this.#joinSeq);
      // Only a random-access chunk can start a decoder; a lying map is caught here.
      if (first === undefined || (first.flags & CHUNK_FLAG_RANDOM_ACCESS) === 0) return;
      if ((liveEdgeSeq - this.#joinSeq + 1) * first.durationMs < this.targetDelayMs) return;
      this.#startMs = nowMs;
      this.#nextDeadlineMs = nowMs;
      if (first.durationMs > 0) this.#durationMs = first.durationMs;
    }
    const edge = view === undefined ? liveEdgeSeq : view.newestSeq;
    if (this.#holding && view !== undefined) this.#skipHoles(nowMs, get, emit, view);
    this.keepHold(nowMs, get, edge);
    this.#pace(edge);
    while (this.deadlineOf(this.#nextSeq, nowMs) <= nowMs) {
      const seq = this.#nextSeq;
      const chunk = get(seq);
      if (chunk === undefined && seq > edge) {
        // Nobody has announced it: the source is late (slow, stalled, restarting), not this node.
        // Skipping would run the playout point ahead of the stream, and every chunk after it would
        // then miss its deadline too; hold it instead (a stall, nothing skipped) until it exists.
        this.#hold(seq, nowMs, emit);
        return;
      }
      this.#nextSeq++;
      if (chunk !== undefined && chunk.durationMs > 0) {
        this.#nextDeadlineMs += chunk.durationMs / this.#rate;
        this.#durationMs += (chunk.durationMs - this.#durationMs) / DURATION_MEAN_WEIGHT;
      } else {
        this.#nextDeadlineMs += this.#durationMs / this.#rate;
      }
      if (chunk === undefined) {
        this.#skip(seq, nowMs, emit);
        continue;
      }
      this.#played++;
      const discontinuity = this.#gap || (chunk.flags & CHUNK_FLAG_DISCONTINUITY) !== 0;
      if (discontinuity && this.#played > 1) this.#discontinuities++;
      this.#holding = false;
      this.#gap = false;
      if (!Number.isNaN(this.#stallSinceMs)) {
        const stalledMs = nowMs - this.#stallSinceMs;
        this.#stalledMs += stalledMs;
        this.#stallSinceMs = Number.NaN;
        emit({ type: 'resume', seq, stalledMs });
      }
      emit({
        type: 'play',
        seq,
        payload: discontinuity && this.#played > 1 ? markDiscontinuity(chunk.payload) : chunk.payload,
        discontinuity,
        randomAccess: (chunk.flags & CHUNK_FLAG_RANDOM_ACCESS) !== 0,
      });
    }
  }

  /**
   * A hold keeps its chunk, while nobody holds or announced it (`edgeSeq`, the live edge), the
   * target delay away. {@link poll} does it; a node that polls without playing (it reads what
   * queued first) calls it, so a chunk announced meanwhile still gets its time.
   */
  keepHold(nowMs: number, get: (seq: number) => Chunk | undefined, edgeSeq: number): void {
    if (this.#holding && this.#nextSeq > edgeSeq && get(this.#nextSeq) === undefined)
      this.#nextDeadlineMs = nowMs + this.targetDelayMs;
  }

  /**
   * Holds the playout point at `seq`, which nobody holds or announced yet: while it is not
   * announced its deadline stays the target delay away, so once it is it has the time a joining
   * node has to fetch it, and the stream resumes that far behind the (late) source. The first
   * hold of a run is a stall.
   */
  #hold(seq: number, nowMs: number, emit: (e: PlayoutEvent) => void): void {
    if (!this.#holding) this.#holdSinceMs = nowMs;
    this.#nextDeadlineMs = nowMs + this.targetDelayMs;
    this.#holding = true;
    this.#stall(seq, nowMs, emit);
  }

  /**
   * Holding: skips at once (no time passes) the chunks below the live edge that nobody holds or
   * announced — numbers that never existed, like those a restarted source jumped over. The next
   * chunk keeps the deadline the hold gave it: the restarted stream plays a target delay behind.
   */
  #skipHoles(
    nowMs: number,
    get: (seq: number) => Chunk | undefined,
    emit: (e: PlayoutEvent) => void,
    view: PlayoutView,
  ): void {
    while (
      this.#nextSeq < view.newestSeq &&
      get(this.#nextSeq) === undefined &&
      !view.announced(this.#nextSeq)
    ) {
      this.#skip(this.#nextSeq, nowMs, emit);
      this.#nextSeq++;
    }
  }

  #skip(seq: number, nowMs: number, emit: (e: PlayoutEvent) => void): void {
    this.#skipped++;
    this.#stall(seq, nowMs, emit);
    this.#gap = true;
    emit({ type: 'skip', seq });
  }

  /** The first skip or hold of a run is a stall. */
  #stall(seq: number, nowMs: number, emit: (e: PlayoutEvent) => void): void {
    if (!Number.isNaN(this.#stallSinceMs)) return;
    this.#stalls++;
    this.#stallSinceMs = nowMs;
    emit({ type: 'stall', seq });
  }

  /** When the next chunk is due, ms; before the start, a chunk's time later (the live edge moves). */
  nextWakeMs(nowMs: number): number {
    if (!this.started) return this.#joinSeq < 0 ? Number.POSITIVE_INFINITY : nowMs + this.#durationMs;
    // Holding (the chunk is not announced yet): look again a chunk's time later, or when it comes.
    if (this.#holding) return Math.min(nowMs + this.#durationMs, this.deadlineOf(this.#nextSeq, nowMs));
    return this.deadlineOf(this.#nextSeq, nowMs);
  }

  /** The playout counters. */
  stats(): PlayoutStats {
    const total = this.#played + this.#skipped;
    return {
      played: this.#played,
      skipped: this.#skipped,
      continuity: total === 0 ? 1 : this.#played / total,
      stalls: this.#stalls,
      discontinuities: this.#discontinuities,
      stalledMs: this.#stalledMs,
      startedAtMs: this.#startMs,
      catchUps: this.#catchUps,
      jumps: this.#jumps,
    };
  }
}

/**
 * A copy of `payload` with the discontinuity_indicator set in the adaptation field of the first
 * packet of each PID that carries one (ISO/IEC 13818-1 §2.4.3.4), so a decoder resets its
 * continuity-counter and timestamp expectations instead of reporting corruption. Packets without
 * an adaptation field are left alone: the stream stays whole 188-byte packets either way.
 */
export function markDiscontinuity(payload: Buffer): Buffer {
  const out = Buffer.from(payload);
  const seen = new Set<number>();
  for (let i = 0; i + TS_PACKET_BYTES <= out.length; i += TS_PACKET_BYTES) {
    const pid = ((out[i + 1]! & 0x1f) << 8) | out[i + 2]!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const control = (out[i + 3]! >>> 4) & 0x03;
    if ((control === 2 || control === 3) && out[i + 4]! > 0) out[i + 5]! |= 0x80;
  }
  return out;
}
