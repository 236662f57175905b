/**
 * What every subcommand shares about failing: the exit codes (docs/cli.md "Exit codes"), the
 * {@link CliFailure} a subcommand throws for an expected failure (one line on stderr, no stack),
 * the flag parsers that check a value before anything is bound or started, and {@link report},
 * which main.ts uses to turn any error into a line and an exit code.
 * @module
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { ErrorCode, PortholeError } from '../errors/index.ts';
import { parseHostPort } from '../internal/host-port.ts';

/** Exit codes of `porthole` (docs/cli.md "Exit codes"). */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** The operation failed (bind refused, the network answered with an error, a tool failed). */
  FAILED: 1,
  /** A flag or argument is wrong: nothing was started. */
  USAGE: 2,
  /** Nobody answered: the peer, broker or server did not show up in time. */
  UNREACHABLE: 3,
  /** The peer went away (closed, was killed, or the path broke) before the work was done. */
  PEER_LOST: 4,
  /** A bug in porthole: the stack trace is printed (please report it). */
  BUG: 70,
  /** Interrupted by Ctrl-C (SIGINT) before the work was done. */
  INTERRUPTED: 130,
} as const;

/** One of {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An expected failure of a subcommand: `message` says what happened, `hint` what to do. main.ts
 * prints `porthole <command>: <message>; <hint>` on one line and exits with `exitCode`.
 */
export class CliFailure extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: ExitCodeValue, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliFailure';
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** `ERR_INVALID_OPTION` and the other configuration codes: the user's input, not the network. */
const USAGE_CODES: ReadonlySet<string> = new Set([ErrorCode.INVALID_OPTION]);

/**
 * The line to print and the exit code for an error that ended a subcommand. A CliFailure or a
 * PortholeError (the library's typed errors, which carry their own advice) is expected; anything
 * else is a bug and keeps its stack.
 */
export function report(error: unknown, command: string): { line: string; exitCode: ExitCodeValue } {
  const who = command === '' ? 'porthole' : `porthole ${command}`;
  if (error instanceof CliFailure) {
    const hint = error.hint === undefined ? '' : `; ${error.hint}`;
    return { line: `${who}: ${error.message}${hint}`, exitCode: error.exitCode };
  }
  if (error instanceof PortholeError) {
    const exitCode = USAGE_CODES.has(error.code) ? ExitCode.USAGE : ExitCode.FAILED;
    return { line: `${who}: ${error.message} [${error.code}]`, exitCode };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && error instanceof Error) {
    // A system call refused (EADDRINUSE, EACCES, EADDRNOTAVAIL, EPIPE…): the environment, not a bug.
    return { line: `${who}: ${error.message}`, exitCode: ExitCode.FAILED };
  }
  const trace = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return {
    line: `${who}: internal error (a bug in porthole, please report it with this trace):\n${trace}`,
    exitCode: ExitCode.BUG,
  };
}

/** Range and kind of a numeric flag. */
export interface NumberFlagRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. Default false. */
  readonly integer?: boolean;
  /** Also accept exactly 0 (e.g. "0: never") even when `min` is above it. Default false. */
  readonly zero?: boolean;
  /** Unit shown in the message (`ms`, `seconds`). */
  readonly unit?: string;
}

/**
 * A commander argument parser for a number in `range`: `Number(text)` must be finite (no `''`,
 * `abc`, `1e999`), whole when `integer`, and inside the range. Commander calls it while parsing,
 * before any action runs, and prints `option '--x <n>' argument 'abc' is invalid. <why>`.
 */
export function numberIn(range: NumberFlagRange): (text: string) => number {
  const what = `${range.integer === true ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}${
    range.unit === undefined ? '' : ` ${range.unit}`
  }${range.zero === true ? ' (or 0)' : ''}`;
  return (text) => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    const ok =
      Number.isFinite(value) &&
      (range.integer !== true || Number.isInteger(value)) &&
      ((value >= range.min && value <= range.max) || (range.zero === true && value === 0));
    if (!ok) throw new InvalidArgumentError(`Give ${what}.`);
    return value;
  };
}

/** A commander argument parser accepting one of `choices` (exactly as written). */
export function oneOf<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new InvalidArgumentError(`Give one of ${choices.join(', ')}.`);
    }
    return text as T;
  };
}

/** A commander argument parser for an IP address (a name is refused: no DNS where an address is meant). */
export function ipAddress(text: string): string {
  if (isIP(text) === 0) {
    throw new InvalidArgumentError('Give a numeric IPv4 or IPv6 address (no brackets, no port, no name).');
  }
  return text;
}

/**
 * A commander argument parser for `host[:port]` (`[v6]:port`): checks the shape and the port range
 * at parse time and returns the text (resolving a name, where a name is allowed, comes later).
 */
export function hostPort(
  options: { readonly minPort?: number; readonly maxPort?: number } = {},
): (text: string) => string {
  return (text) => {
    try {
      parseHostPort(text, { option: 'flag', ...options });
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
    return text;
  };
}

/** `udp6` for an IPv6 address, else `udp4`. */
export function familyOf(address: string): 'udp4' | 'udp6' {
  return isIP(address) === 6 ? 'udp6' : 'udp4';
}

/**
 * Resolves when the process gets SIGINT or SIGTERM (which one), and stops listening then; `off()`
 * stops listening without a signal. Instead of `process.once` pairs scattered in each command.
 */
export function onStopSignal(): { readonly signal: Promise<NodeJS.Signals>; off(): void } {
  let off = (): void => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const handler = (name: NodeJS.Signals): void => {
      off();
      resolve(name);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    off = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  });
  return { signal, off: () => off() };
}
