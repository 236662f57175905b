/**
 * `LivePolluter`: a malicious peer for the demo and the tests (`porthole peer --pollute`). It joins
 * like a peer (tracker session, punch links), then lies: its buffer map and HAVEs claim every chunk
 * a little ahead of what its neighbours announce, and it answers every REQUEST with a forged chunk
 * (the channel's id, a valid structure, another key's signature). Honest peers must ban it on the
 * first forged chunk and never play a byte of it.
 * @module
 */
import { ARQ_TURBO, ArqEndpoint, type ArqStream } from '../arq/index.ts';
import { ParseError } from '../errors/index.ts';
import type { DatagramLink } from '../mux/index.ts';
import type { PunchLink } from '../punch/index.ts';
import { LIVE_CONTROL_CONV, LIVE_DATA_CONV } from './arq-node.ts';
import { type ChannelKey, createChannel } from './channel.ts';
import { signChunk } from './chunk.ts';
import { CHUNK_FLAG_RANDOM_ACCESS, PEER_PROTOCOL_VERSION } from './constants.ts';
import type { PeerSession } from './peer-session.ts';
import { decodePeerFrame, encodePeerFrame, type PeerFrame, PeerFrameType, PeerRole } from './wire.ts';

/** Chunks a polluter claims past the newest it heard of. */
const CLAIM_AHEAD = 16;
/** Neighbours it keeps at most. */
const MAX_VICTIMS = 32;

interface Victim {
  readonly endpoint: ArqEndpoint;
  readonly control: ArqStream;
  readonly data: ArqStream;
  readonly link: PunchLink;
}

/** Counters of a {@link LivePolluter}. */
export interface LivePolluterStats {
  readonly victims: number;
  readonly forgedSent: number;
  readonly liesSent: number;
  readonly byes: number;
}

/** See the module doc. */
export class LivePolluter {
  readonly #channel: ChannelKey;
  readonly #session: PeerSession;
  readonly #peerId: Buffer;
  readonly #fake = createChannel();
  readonly #victims = new Map<string, Victim>();
  readonly #abort = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #newest = -1;
  readonly #c = { forgedSent: 0, liesSent: 0, byes: 0 };

  constructor(channel: ChannelKey, session: PeerSession, peerId: string) {
    this.#channel = channel;
    this.#session = session;
    this.#peerId = Buffer.from(peerId.padEnd(16, '\0')).subarray(0, 16);
    void this.#acceptLoop();
    this.#timer = setInterval(() => void this.#dialMore(), 1000);
    this.#timer.unref();
  }

  stats(): LivePolluterStats {
    return { victims: this.#victims.size, ...this.#c };
  }

  async close(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    clearInterval(this.#timer);
    for (const v of this.#victims.values()) {
      v.endpoint.close();
      await v.link.close();
    }
    this.#victims.clear();
  }

  async #dialMore(): Promise<void> {
    if (this.#victims.size >= MAX_VICTIMS) return;
    let candidates: { id: string }[];
    try {
      candidates = await this.#session.candidates(16);
    } catch {
      return;
    }
    for (const c of candidates) {
      if (this.#victims.has(c.id) || this.#abort.signal.aborted) continue;
      this.#session.punch.dial(c.id, { signal: this.#abort.signal }).then(
        (link) => this.#add(c.id, link),
        () => {},
      );
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      try {
        const link = await this.#session.punch.accept({ signal: this.#abort.signal });
        this.#add(link.peerId, link);
      } catch {
        return;
      }
    }
  }

  #add(id: string, link: PunchLink): void {
    if (this.#abort.signal.aborted || this.#victims.has(id) || this.#victims.size >= MAX_VICTIMS) {
      void link.close();
      return;
    }
    const endpoint = new ArqEndpoint({ link: link as DatagramLink, ...ARQ_TURBO, accept: 'never' });
    const control = endpoint.open(LIVE_CONTROL_CONV);
    const data = endpoint.open(LIVE_DATA_CONV);
    const v: Victim = { endpoint, control, data, link };
    this.#victims.set(id, v);
    const gone = (): void => {
      if (this.#victims.get(id) !== v) return;
      this.#victims.delete(id);
      endpoint.close();
      void link.close();
    };
    for (const s of [control, data]) {
      s.on('error', gone);
      s.on('close', gone);
    }
    link.once('close', gone);
    control.on('data', (m: Buffer) => this.#onControl(v, m, gone));
    data.on('data', () => {}); // an honest peer sends it nothing it did not ask for
    this.#send(v, {
      type: PeerFrameType.HELLO,
      version: PEER_PROTOCOL_VERSION,
      role: PeerRole.PEER,
      seedPermille: 0,
      channelId: this.#channel.id,
      publicKey: this.#channel.publicKey,
      peerId: this.#peerId,
    });
    if (this.#newest >= 0) this.#claimMap(v);
  }

  #onControl(v: Victim, message: Buffer, gone: () => void): void {
    let frame: PeerFrame;
    try {
      frame = decodePeerFrame(message);
    } catch (error) {
      if (error instanceof ParseError) return;
      throw error;
    }
    switch (frame.type) {
      case PeerFrameType.BUFFER_MAP:
        this.#heard(frame.base + frame.count - 1);
        this.#claimMap(v);
        return;
      case PeerFrameType.HAVE:
        this.#heard(frame.seq);
        return;
      case PeerFrameType.REQUEST:
        this.#forge(v, frame.seq);
        return;
      case PeerFrameType.BYE:
        this.#c.byes++;
        gone();
        return;
    }
  }

  /** A newer chunk exists: claim it, and a few beyond, to everyone. */
  #heard(seq: number): void {
    if (seq <= this.#newest) return;
    const from = Math.max(this.#newest + 1, seq);
    this.#newest = seq;
    for (const v of this.#victims.values()) {
      for (let s = from; s <= seq + 1; s++) {
        this.#send(v, { type: PeerFrameType.HAVE, seq: s, randomAccess: true });
        this.#c.liesSent++;
      }
    }
  }

  #claimMap(v: Victim): void {
    const count = 64 + CLAIM_AHEAD;
    const base = Math.max(0, this.#newest - 63);
    const bitmap = Buffer.alloc(Math.ceil(count / 8), 0xff);
    this.#send(v, { type: PeerFrameType.BUFFER_MAP, base, count, bitmap, rapBitmap: Buffer.from(bitmap) });
    this.#c.liesSent++;
  }

  #forge(v: Victim, seq: number): void {
    const payload = Buffer.alloc(188 * 8, 0xff);
    for (let i = 0; i < payload.length; i += 188) payload[i] = 0x47;
    const chunk = signChunk(this.#fake, {
      seq,
      timestampMs: Date.now(),
      durationMs: 250,
      flags: CHUNK_FLAG_RANDOM_ACCESS,
      payload,
    });
    this.#channel.id.copy(chunk, 4); // the victim's channel, someone else's signature
    v.data.write(encodePeerFrame({ type: PeerFrameType.DATA, chunk }));
    this.#c.forgedSent++;
  }

  #send(v: Victim, frame: PeerFrame): void {
    v.control.write(encodePeerFrame(frame));
  }
}
