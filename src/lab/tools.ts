import { execFile, execFileSync } from 'node:child_process';
import { debuglog } from 'node:util';
import { AbortError, throwIfAborted } from '../errors/index.ts';
import { LabCommandError, LabErrorCode } from './errors.ts';

const debug = debuglog('porthole:lab');

/** Default deadline of one tool run, in milliseconds. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

/** Largest stdout/stderr kept from one tool run, in bytes. */
const MAX_TOOL_OUTPUT_BYTES = 16 * 1024 * 1024;

/** What a finished tool printed. */
export interface ToolOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Settings of one {@link runTool} call. */
export interface RunToolOptions {
  /** Written to the tool's stdin, which is then closed. */
  readonly input?: string;
  /** Deadline in milliseconds; default {@link DEFAULT_TOOL_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Runs `file args…` (no shell) and resolves with its output once it exits 0. Rejects with
 * {@link LabCommandError} (`ERR_LAB_COMMAND_FAILED`, `ERR_LAB_COMMAND_TIMEOUT`) or `ERR_ABORTED`.
 */
export function runTool(
  file: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolOutput> {
  throwIfAborted(options.signal);
  const command = [file, ...args];
  debug('run %s', command.join(' '));
  return new Promise<ToolOutput>((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'utf8',
        maxBuffer: MAX_TOOL_OUTPUT_BYTES,
        timeout: options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        if (error.name === 'AbortError') {
          reject(new AbortError(options.signal?.reason));
          return;
        }
        const timedOut =
          error.killed === true && error.signal === 'SIGKILL' && options.signal?.aborted !== true;
        const exitCode = typeof error.code === 'number' ? error.code : null;
        reject(
          new LabCommandError(
            timedOut ? LabErrorCode.COMMAND_TIMEOUT : LabErrorCode.COMMAND_FAILED,
            command,
            exitCode,
            stdout,
            stderr === '' ? error.message : stderr,
            error,
          ),
        );
      },
    );
    child.stdin?.on('error', () => {
      // The tool may exit before reading its stdin; the exit status tells what happened.
    });
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * Runs a tool synchronously and ignores its failure. Used only on process exit, where nothing
 * asynchronous can run any more.
 */
export function runToolSyncQuiet(file: string, args: readonly string[]): string {
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
  } catch {
    return '';
  }
}
