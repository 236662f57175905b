// Debian's ffmpeg (built with librist) as a real RIST peer for the interop tests and bench/rist.ts:
// a test stream, frame hashes to compare streams packet for packet, and librist senders and
// receivers as child processes. Every child is killed and awaited by its owner.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the ffmpeg tests cannot run here, or undefined when they can (ffmpeg with librist). */
export function ffmpegRistMissing(): string | undefined {
  const probe = spawnSync('ffmpeg', ['-hide_banner', '-protocols'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return 'ffmpeg is not installed';
  return /\brist\b/.test(probe.stdout) ? undefined : 'this ffmpeg has no librist (rist protocol)';
}

/** A scratch directory and a cleanup. */
export function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-rist-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Encodes `seconds` of a test pattern (MPEG-2 video, 25 fps, `bitrate`; `muxrate`: CBR padded) as MPEG-TS into `file`. */
export function makeTestStream(file: string, seconds: number, bitrate = '1M', muxrate?: string): Buffer {
  const input = [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-t',
    String(seconds),
  ];
  const video = ['-c:v', 'mpeg2video', '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', '500k'];
  const mux = muxrate === undefined ? [] : ['-muxrate', muxrate];
  const r = spawnSync('ffmpeg', [...input, ...video, ...mux, '-f', 'mpegts', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not make the test stream: ${r.stderr}`);
  return spawnSync('cat', [file]).stdout;
}

/** The MD5 of every video packet of a TS file (`-c copy`: the coded frames, not the muxing). */
export function packetHashes(file: string): string[] {
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy', '-f', 'framemd5', '-'],
    {
      encoding: 'utf8',
    },
  );
  return hashesOf(r.stdout);
}

/** The hash column of framemd5 output. */
export function hashesOf(framemd5: string): string[] {
  return framemd5
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.slice(l.lastIndexOf(',') + 1).trim());
}

/** Decodes a TS file fully; returns ffmpeg's error output (empty: it decoded cleanly). */
export function decodeErrors(file: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`.trim();
}

/** Writes `data` to a file in `dir` and returns its path. */
export function writeFile(dir: string, name: string, data: Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, data);
  return file;
}

/** A running ffmpeg. */
export interface FfmpegChild {
  readonly child: ChildProcess;
  readonly stdout: Buffer[];
  readonly stderr: string[];
  /** Resolves when it exited (by itself or killed). */
  readonly exited: Promise<number | null>;
  /** Kills it (SIGKILL: a librist receiver ignores SIGINT while it waits for data) and waits. */
  kill(): Promise<void>;
}

function run(args: readonly string[]): FfmpegChild {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (b: Buffer) => stdout.push(b));
  child.stderr.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stdout,
    stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** librist's options for a profile (and a PSK secret): `-rist_profile main -secret S -encryption 128`. */
export function ristArgs(profile: 'simple' | 'main' = 'simple', secret?: string, bits = 128): string[] {
  const psk = secret === undefined ? [] : ['-secret', secret, '-encryption', String(bits)];
  return ['-rist_profile', profile, ...psk];
}

/** ffmpeg sending `file` in real time (`extra`: input options such as `-stream_loop 1`) as RIST (`rist`: {@link ristArgs}, Simple profile by default) to 127.0.0.1:`port`. */
export function ffmpegSend(
  file: string,
  port: number,
  extra: readonly string[] = [],
  rist: readonly string[] = ristArgs(),
): FfmpegChild {
  return run(
    ['-v', 'error', '-re', ...extra, '-i', file, '-map', '0', '-c', 'copy', ...rist].concat([
      '-f',
      'mpegts',
      `rist://127.0.0.1:${port}`,
    ]),
  );
}

/**
 * ffmpeg receiving RIST Simple profile on 127.0.0.1:`port` (librist's receiver), writing the
 * framemd5 of every video packet to stdout: `decode` hashes decoded frames instead of packets.
 */
export function ffmpegReceive(
  port: number,
  options: { decode?: boolean; bufferMs?: number; rist?: readonly string[] } = {},
): FfmpegChild {
  const codec = options.decode === true ? [] : ['-c', 'copy'];
  return run(
    ['-v', 'warning', ...(options.rist ?? ristArgs()), '-buffer_size', String(options.bufferMs ?? 1000)]
      .concat(['-probesize', '65536', '-analyzeduration', '500000', '-i', `rist://@127.0.0.1:${port}`])
      .concat(['-map', '0:v', ...codec, '-f', 'framemd5', 'pipe:1']),
  );
}

/** Decoded-frame hashes of a TS file (what {@link ffmpegReceive} with `decode` prints). */
export function frameHashes(file: string): string[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-'], {
    encoding: 'utf8',
  });
  return hashesOf(r.stdout);
}

/** Index of `run` as a contiguous subsequence of `all`, or −1. */
export function indexOfRun(all: readonly string[], run: readonly string[]): number {
  for (let start = 0; start + run.length <= all.length; start++) {
    let ok = true;
    for (let i = 0; i < run.length && ok; i++) ok = all[start + i] === run[i];
    if (ok) return start;
  }
  return -1;
}

/** Sends `data` through a RIST sender spread over `durationMs`, as an encoder would. */
export async function sendPaced(
  sender: { writeTs(data: Uint8Array): void; flushTs(): void },
  data: Buffer,
  durationMs: number,
): Promise<void> {
  const per = 1316;
  const count = Math.ceil(data.length / per);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    sender.writeTs(data.subarray(i * per, (i + 1) * per));
    const wait = start + (i * durationMs) / count - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  sender.flushTs();
}

/** `seconds` of null TS packets (PID 0x1FFF): padding that pushes a receiver's buffers out. */
export function nullPackets(seconds: number, packetsPerSecond = 7 * 50): Buffer {
  const out = Buffer.alloc(188 * Math.ceil(seconds * packetsPerSecond));
  for (let at = 0; at < out.length; at += 188) {
    out[at] = 0x47;
    out[at + 1] = 0x1f;
    out[at + 2] = 0xff;
    out[at + 3] = 0x10;
  }
  return out;
}

/** Whether something is bound to 127.0.0.1:`port` (UDP): a bind there fails. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(true);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(false)));
  });
}
