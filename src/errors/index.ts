/**
 * porthole's error hierarchy: one base class with a stable string `code`, and a few subclasses
 * by kind of failure. Every code is listed in docs/errors.md with what to do about it.
 * @module
 */

/** Base class of every error porthole throws or emits. `code` is stable across versions. */
export class PortholeError extends Error {
  /** Stable machine-readable code, e.g. `ERR_PORT_RANGE_EXHAUSTED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options or configuration that can never work; fix the call site. */
export class ConfigError extends PortholeError {}

/**
 * A decoder met bytes it cannot accept. `offset` is where in the input it failed, so a capture
 * can be read at that byte.
 */
export class ParseError extends PortholeError {
  /** Byte offset into the input where decoding failed. */
  readonly offset: number;

  constructor(code: string, message: string, offset: number) {
    super(code, `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** An operation did not complete within its deadline. */
export class TimeoutError extends PortholeError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_TIMEOUT', message, options);
  }
}

/** The resource was closed before or during the operation. */
export class ClosedError extends PortholeError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
  }
}

/** The caller's AbortSignal fired. `cause` carries the signal's reason. */
export class AbortError extends PortholeError {
  constructor(reason?: unknown) {
    super('ERR_ABORTED', 'the operation was aborted', { cause: reason });
  }
}

/** Throws {@link AbortError} when `signal` has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
