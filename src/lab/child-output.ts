import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AbortError, TimeoutError } from '../errors/index.ts';
import { LabCommandError, LabErrorCode } from './errors.ts';

/** Longest stderr tail kept for an error message, in characters. */
const STDERR_TAIL_CHARS = 2_000;

/** Settings of {@link readJsonLine}. */
export interface ReadJsonLineOptions {
  /** Deadline in milliseconds. Default 30 000. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Resolves with the first line of `child`'s stdout that parses as a JSON object and satisfies
 * `accept` (default: any object). Rejects with `ERR_TIMEOUT`, `ERR_ABORTED`, or
 * `ERR_LAB_COMMAND_FAILED` when the child exits first (with its stderr in the message). Lines
 * that are not JSON are skipped, so a runner may log freely on stdout.
 */
export function readJsonLine<T extends object = Record<string, unknown>>(
  child: ChildProcess,
  accept: (value: Record<string, unknown>) => boolean = () => true,
  options: ReadJsonLineOptions = {},
): Promise<T> {
  const stdout = child.stdout;
  if (stdout === null) return Promise.reject(new TypeError('the child has no piped stdout'));
  let stderr = '';
  const onStderr = (chunk: Buffer): void => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stderr?.on('data', onStderr);
  const lines = createInterface({ input: stdout });
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      lines.off('line', onLine);
      lines.close();
      child.off('close', onExit);
      child.stderr?.off('data', onStderr);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onLine = (line: string): void => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      if (!accept(value as Record<string, unknown>)) return;
      cleanup();
      resolve(value as T);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      const args = Array.isArray(child.spawnargs) ? child.spawnargs : [];
      reject(new LabCommandError(LabErrorCode.COMMAND_FAILED, args, code, '', stderr));
    };
    const onAbort = (): void => {
      cleanup();
      reject(new AbortError(options.signal?.reason));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new TimeoutError(`no JSON line from the child within ${options.timeoutMs ?? 30_000} ms: ${stderr}`),
      );
    }, options.timeoutMs ?? 30_000);
    lines.on('line', onLine);
    child.once('close', onExit);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
