/**
 * ffmpeg as a source input: where the binary is (the optional `@ffmpeg-installer/ffmpeg` package,
 * else `ffmpeg` on the PATH), the built-in test pattern's command line, and {@link FfmpegInput},
 * a child process whose stdout is MPEG-TS.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { ConfigError, PortholeError } from '../errors/index.ts';
import { LiveSourceErrorCode } from './errors.ts';
import { QueuedTsInput } from './source-input.ts';
import { validateInteger } from './source-options.ts';

/** Bytes of ffmpeg's stderr kept for the error message when it fails. */
const STDERR_TAIL_BYTES = 2048;
/** How long a stopped ffmpeg gets to exit after SIGTERM before SIGKILL, ms. */
const KILL_GRACE_MS = 2000;

/**
 * The ffmpeg binary to run: `explicit` when given, else the one of the optional
 * `@ffmpeg-installer/ffmpeg` package when it is installed, else `ffmpeg` from the PATH.
 * @throws ConfigError `ERR_LIVE_FFMPEG_MISSING` when none is executable.
 */
export function findFfmpeg(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit !== undefined) candidates.push(explicit);
  else {
    try {
      const require = createRequire(import.meta.url);
      const installer = require('@ffmpeg-installer/ffmpeg') as { path?: unknown };
      if (typeof installer.path === 'string') candidates.push(installer.path);
    } catch {
      // Optional dependency not installed (or no binary for this platform): try the PATH.
    }
    for (const dir of (process.env.PATH ?? '').split(delimiter))
      if (dir !== '') candidates.push(join(dir, 'ffmpeg'));
  }
  for (const path of candidates) {
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // Not there or not executable: the next one.
    }
  }
  throw new ConfigError(
    LiveSourceErrorCode.FFMPEG_MISSING,
    explicit !== undefined
      ? `ffmpeg: ${explicit} is not an executable file`
      : 'ffmpeg: not found (install the optional @ffmpeg-installer/ffmpeg package or put ffmpeg on the PATH)',
  );
}

/** Settings of the built-in test pattern. All optional. */
export interface TestPatternOptions {
  /** Video bitrate, kbit/s, 100–50,000. Default 1800 (about 2 Mbit/s with the audio). */
  readonly bitrateKbps?: number;
  /** Frame size. Default 640×360. */
  readonly width?: number;
  readonly height?: number;
  /** Frames per second, 1–60. Default 25. */
  readonly fps?: number;
  /** Seconds between key frames (a fixed GOP), 1–10. Default 1. */
  readonly gopSeconds?: number;
  /** Draw the clock and frame counter (needs a font through fontconfig). Default true. */
  readonly drawText?: boolean;
}

/**
 * ffmpeg's arguments for the test pattern: testsrc2 with the wall clock and frame number drawn
 * on it, a 440 Hz tone, libx264 `zerolatency` at a fixed GOP (no scene-cut key frames), AAC, MPEG-TS
 * on stdout, paced in real time (`-re`).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for an option out of range.
 */
export function testPatternArgs(options: TestPatternOptions = {}): string[] {
  const kbps = validateInteger('bitrateKbps', options.bitrateKbps, 1800, 100, 50_000);
  const width = validateInteger('width', options.width, 640, 16, 3840);
  const height = validateInteger('height', options.height, 360, 16, 2160);
  const fps = validateInteger('fps', options.fps, 25, 1, 60);
  const gop = fps * validateInteger('gopSeconds', options.gopSeconds, 1, 1, 10);
  let video = `testsrc2=size=${width}x${height}:rate=${fps}`;
  if (options.drawText !== false) {
    video +=
      ",drawtext=text='porthole %{localtime\\:%X} frame %{n}':x=16:y=16:fontsize=" +
      `${Math.max(12, Math.round(height / 14))}:fontcolor=white:box=1:boxcolor=black@0.6`;
  }
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    video,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-b:v',
    `${kbps}k`,
    '-maxrate',
    `${kbps}k`,
    '-bufsize',
    `${Math.max(50, Math.round(kbps / 4))}k`,
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    '-f',
    'mpegts',
    'pipe:1',
  ];
}

/** Settings of an {@link FfmpegInput}. */
export interface FfmpegInputOptions {
  /** ffmpeg's arguments (its output must be MPEG-TS on stdout). */
  readonly args: readonly string[];
  /** The binary; default {@link findFfmpeg}(). */
  readonly ffmpegPath?: string;
  /** What {@link FfmpegInput.kind} says. Default `'ffmpeg'`. */
  readonly kind?: string;
}

/** An ffmpeg child process as a {@link TsInput}: its stdout is the stream; its exit ends it. */
export class FfmpegInput extends QueuedTsInput {
  readonly kind: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';
  #stopping = false;

  /** @throws ConfigError `ERR_LIVE_FFMPEG_MISSING` when no ffmpeg is found. */
  constructor(options: FfmpegInputOptions) {
    super();
    this.kind = options.kind ?? 'ffmpeg';
    const binary = findFfmpeg(options.ffmpegPath);
    const child = spawn(binary, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout!.on('data', (data: Buffer) => this.write(data));
    child.stderr!.on('data', (data: Buffer) => {
      this.#stderr = (this.#stderr + data.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.fail(new PortholeError(LiveSourceErrorCode.INPUT_FAILED, `ffmpeg: ${error.message}`));
        resolve();
      });
      child.once('close', (code, signal) => {
        if (this.#stopping || code === 0) this.end();
        else {
          const why = this.#stderr
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('Fontconfig'))
            .slice(-3)
            .join(' | ');
          this.fail(
            new PortholeError(
              LiveSourceErrorCode.INPUT_FAILED,
              `ffmpeg exited with ${code ?? signal}${why === '' ? '' : `: ${why}`}`,
            ),
          );
        }
        resolve();
      });
    });
  }

  /** The process id of ffmpeg (undefined when it could not start). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  protected async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    } else {
      await this.#exited;
    }
  }
}

/** The built-in test pattern (see {@link testPatternArgs}) as a {@link TsInput}. */
export function openTestPattern(
  options: TestPatternOptions & { readonly ffmpegPath?: string } = {},
): FfmpegInput {
  return new FfmpegInput({
    args: testPatternArgs(options),
    kind: 'testpattern',
    ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
  });
}
