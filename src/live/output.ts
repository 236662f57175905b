/**
 * Playout outputs: where a peer's played MPEG-TS goes. Each output takes every played chunk's
 * payload (whole 188-byte packets, in order, discontinuities marked) and writes it somewhere:
 * HTTP (output-http.ts), UDP/multicast (output-udp.ts), a file or stdout (output-stream.ts).
 * @module
 */

/** What an output is told of each played chunk. */
export interface PlayedChunk {
  readonly seq: number;
  readonly payload: Buffer;
  /** The chunk starts with a random-access point (a new client may start here). */
  readonly randomAccess: boolean;
  /** Chunks were skipped before this one. */
  readonly discontinuity: boolean;
}

/** Counters every output keeps. */
export interface OutputStats {
  readonly kind: 'http' | 'udp' | 'file' | 'stdout';
  /** Where it writes: `http://host:port/live.ts`, `udp://host:port`, a path, `-`. */
  readonly target: string;
  readonly chunksWritten: number;
  readonly bytesWritten: number;
  /** Chunks not written (a slow client's or stream's buffer was full), or clients dropped. */
  readonly dropped: number;
  /** HTTP: clients now. */
  readonly clients?: number;
}

/** A playout output. */
export interface PlayoutOutput {
  write(chunk: PlayedChunk): void;
  stats(): OutputStats;
  close(): Promise<void>;
}

/** How an output is asked for in {@link LivePeerOptions.outputs}. */
export type OutputSpec =
  | { readonly http: number; readonly host?: string }
  | { readonly udp: string; readonly ttl?: number }
  | { readonly file: string }
  | 'stdout';
