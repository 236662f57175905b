/**
 * porthole's error hierarchy: one base class with a stable string `code`, and a few subclasses
 * by kind of failure. Every code is listed in docs/errors.md with what to do about it.
 *
 * Codes are constants: the ones every layer shares are in {@link ErrorCode}; each layer keeps its
 * own specific codes in one `<Layer>ErrorCode` table in its `errors.ts`, exported from its
 * `index.ts`. A throw site names a constant, never a string literal (test/errors.test.ts checks).
 * @module
 */

/** Codes every layer shares. Layer-specific codes live in each layer's `<Layer>ErrorCode` table. */
export const ErrorCode = {
  /** {@link InvalidOptionError}: an option or argument that can never work; `option` names it. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** {@link InvalidStateError}: a call the object's current state does not allow. */
  INVALID_STATE: 'ERR_INVALID_STATE',
  /** {@link TimeoutError}: no answer before the deadline. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** {@link ClosedError}: the resource was closed before or during the call. */
  CLOSED: 'ERR_CLOSED',
  /** {@link AbortError}: the caller's AbortSignal fired. */
  ABORTED: 'ERR_ABORTED',
} as const;
/** One of the {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Brand on `PortholeError.prototype`, shared by every copy of the package in a process
 * (`Symbol.for`), so `instanceof` holds for an error made by another copy.
 */
const kBrand: unique symbol = Symbol.for('porthole.error') as never;

const nativeHasInstance = Function.prototype[Symbol.hasInstance];

/** Base class of every error porthole throws or emits. `code` is stable across versions. */
export class PortholeError extends Error {
  /** Stable machine-readable code, e.g. `ERR_PORT_RANGE_EXHAUSTED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /**
   * `error instanceof PortholeError` (or any subclass) also holds for an error made by another
   * copy of porthole loaded in the same process: the prototype chain carries the
   * `Symbol.for('porthole.error')` brand, and a class matches a prototype of its own name there.
   */
  static override [Symbol.hasInstance](
    this: abstract new (
      ...args: never[]
    ) => unknown,
    value: unknown,
  ): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass `instanceof` was asked about
    if (nativeHasInstance.call(this, value)) return true;
    if (typeof value !== 'object' || value === null || !(kBrand in value)) return false;
    // biome-ignore lint/complexity/noThisInStatic: as above
    const name = this.name;
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if (!(kBrand in proto)) return false;
      if (Object.hasOwn(proto, 'constructor') && (proto.constructor as { name?: unknown }).name === name) {
        return true;
      }
    }
    return false;
  }
}
Object.defineProperty(PortholeError.prototype, kBrand, { value: true });

/** Options or configuration that can never work; fix the call site. */
export class ConfigError extends PortholeError {}

/**
 * An option or argument that can never work (`ERR_INVALID_OPTION`): out of range, of the wrong
 * type or shape, or inconsistent with another option. `option` names it, as the user spelled it
 * (`'maxPeers'`, `'punch.timeoutMs'`, `'port'`). Fix the call.
 */
export class InvalidOptionError extends ConfigError {
  /** The option or argument at fault. */
  readonly option: string;

  constructor(option: string, message: string, options?: ErrorOptions) {
    super(ErrorCode.INVALID_OPTION, message, options);
    this.option = option;
  }
}

/**
 * A call the object's current state does not allow (`ERR_INVALID_STATE`): before it is ready,
 * twice where once is allowed, or after it has moved on. The message says which state it is in.
 */
export class InvalidStateError extends PortholeError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.INVALID_STATE, message, options);
  }
}

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

/** An operation did not complete within its deadline (`ERR_TIMEOUT`). */
export class TimeoutError extends PortholeError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/** The resource was closed before or during the operation (`ERR_CLOSED`). */
export class ClosedError extends PortholeError {
  constructor(what: string) {
    super(ErrorCode.CLOSED, `${what} is closed`);
  }
}

/** The caller's AbortSignal fired (`ERR_ABORTED`). `cause` carries the signal's reason. */
export class AbortError extends PortholeError {
  constructor(reason?: unknown) {
    super(ErrorCode.ABORTED, 'the operation was aborted', { cause: reason });
  }
}

/**
 * The options bag every async method of porthole takes (js-libp2p's `AbortOptions`): a signal in
 * an object, never a positional argument, so a method can grow options without breaking callers
 * or the interfaces users implement.
 */
export interface AbortOptions {
  /** Aborts the call: it rejects with {@link AbortError} (`ERR_ABORTED`). */
  readonly signal?: AbortSignal | undefined;
}

/** Throws {@link AbortError} when `signal` has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
