/**
 * The input of a source as one string (the `--input` flag), parsed before anything is started:
 *
 * | spec | input |
 * |---|---|
 * | `testpattern` | the built-in ffmpeg test pattern |
 * | `udp://ADDRESS:PORT` | MPEG-TS datagrams on a local address (`udp://:PORT` or `udp://@:PORT`: every address), or a multicast group |
 * | `rtp://ADDRESS[:FIRST-LAST]` | MPEG-TS in RTP on an even/odd pair from that port range (default 40000-40999) |
 * | `rist://@ADDRESS:PORT` | RIST Simple profile (TR-06-1) on the even port PORT and PORT + 1, NACK recovery (ingest-rist.ts) |
 * | `file:PATH` | a file, looped, paced by its PCR |
 * | `-` | stdin |
 * @module
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors/index.ts';
import { PortPool, parsePortRange } from '../ports/index.ts';
import { openTestPattern, type TestPatternOptions } from './ffmpeg.ts';
import { openRistInput, parseRistInputSpec } from './ingest-rist.ts';
import { FileTsInput, StreamTsInput } from './source-file.ts';
import type { TsInput } from './source-input.ts';
import { openRtpInput } from './source-rtp.ts';
import { openUdpInput } from './source-udp.ts';

/** Port range of the RTP ingest when the spec names none. */
export const RTP_INGEST_DEFAULT_RANGE = '40000-40999';

/** A parsed input spec. */
export type InputSpec =
  | { readonly kind: 'testpattern' }
  | { readonly kind: 'udp'; readonly address: string; readonly port: number }
  | { readonly kind: 'rtp'; readonly address: string; readonly range: string }
  | { readonly kind: 'rist'; readonly address: string; readonly port: number }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdin' };

/**
 * Parses an input spec (see the module doc).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `option` for anything else.
 */
export function parseInputSpec(text: string, option = 'input'): InputSpec {
  const bad = (why: string): never => {
    throw new InvalidOptionError(
      option,
      `${option}: ${why} (testpattern, udp://ADDRESS:PORT, rtp://ADDRESS[:FIRST-LAST], rist://@ADDRESS:PORT, file:PATH or -)`,
    );
  };
  if (text === 'testpattern') return { kind: 'testpattern' };
  if (text === '-') return { kind: 'stdin' };
  if (text.startsWith('file:')) {
    const path = text.slice(5);
    if (path === '') bad('file: needs a path');
    return { kind: 'file', path };
  }
  const rist = parseRistInputSpec(text, option);
  if (rist !== undefined) return rist;
  const m = /^(udp|rtp):\/\/@?([^:/?]*)(?::([0-9-]+))?$/.exec(text);
  if (m === null) return bad(`"${text}" is no input`);
  const scheme = m[1]!;
  const address = m[2] === '' ? '0.0.0.0' : m[2]!;
  if (isIP(address) !== 4) bad(`${address} is not an IPv4 address`);
  if (scheme === 'udp') {
    const port = m[3] === undefined ? Number.NaN : Number(m[3]);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) bad('udp:// needs a port of 1-65535');
    return { kind: 'udp', address, port };
  }
  const range = m[3] ?? RTP_INGEST_DEFAULT_RANGE;
  try {
    const r = parsePortRange(range);
    if (r.last - r.first < 1) bad(`${range} holds no even/odd pair`);
  } catch (error) {
    if (error instanceof InvalidOptionError && error.option === option) throw error;
    bad(`${range} is not a port range FIRST-LAST`);
  }
  return { kind: 'rtp', address, range };
}

/** What {@link openInput} needs besides the spec. */
export interface OpenInputOptions {
  /** Test pattern settings. */
  readonly testPattern?: TestPatternOptions & { readonly ffmpegPath?: string };
  /** RTP: the owner id of the ingest (one ingest per id). Default `source-<pid>`. */
  readonly owner?: string;
  /** RTP: the pool to reserve from; default one made for the spec's range (closed with the input). */
  readonly pool?: PortPool;
}

/**
 * Starts the input of `spec`.
 * @throws what the input throws: `ERR_LIVE_FFMPEG_MISSING`, a PortBindError, `ERR_PORT_OWNER_EXISTS`,
 *   `ERR_PORT_RANGE_EXHAUSTED`.
 */
export async function openInput(spec: InputSpec, options: OpenInputOptions = {}): Promise<TsInput> {
  switch (spec.kind) {
    case 'testpattern':
      return openTestPattern(options.testPattern ?? {});
    case 'udp':
      return openUdpInput({ address: spec.address, port: spec.port });
    case 'file':
      return new FileTsInput({ path: spec.path });
    case 'stdin':
      return new StreamTsInput();
    case 'rist':
      return openRistInput({ address: spec.address, port: spec.port });
    case 'rtp': {
      const own = options.pool === undefined;
      const pool =
        options.pool ?? new PortPool({ range: spec.range, host: spec.address, warnEphemeralOverlap: false });
      try {
        const input = await openRtpInput({ pool, owner: options.owner ?? `source-${process.pid}` });
        if (own) input.onClose(() => pool.close());
        return input;
      } catch (error) {
        if (own) await pool.close();
        throw error;
      }
    }
  }
}
