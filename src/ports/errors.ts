import { PortholeError } from '../errors/index.ts';

/**
 * Codes of the ports layer (docs/ports.md, "Errors"). Bad options are `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors).
 */
export const PortErrorCode = {
  /** {@link PortRangeExhaustedError}: nothing of the asked shape is free now. */
  RANGE_EXHAUSTED: 'ERR_PORT_RANGE_EXHAUSTED',
  /** {@link PortBindError}: EADDRINUSE, another socket holds the port. */
  IN_USE: 'ERR_PORT_IN_USE',
  /** {@link PortBindError}: EADDRNOTAVAIL, the address is not on this machine. */
  ADDRESS_NOT_AVAILABLE: 'ERR_ADDRESS_NOT_AVAILABLE',
  /** {@link PortBindError}: EACCES/EPERM, a privileged port or a security policy. */
  ACCESS_DENIED: 'ERR_PORT_ACCESS_DENIED',
  /** {@link PortBindError}: EMFILE/ENFILE, out of file descriptors. */
  FILE_DESCRIPTORS_EXHAUSTED: 'ERR_FILE_DESCRIPTORS_EXHAUSTED',
  /** {@link PortBindError}: any other bind failure; `errno` says which. */
  BIND_FAILED: 'ERR_PORT_BIND_FAILED',
  /** {@link OwnerConflictError}: a second reservation under an owner id that holds one. */
  OWNER_EXISTS: 'ERR_PORT_OWNER_EXISTS',
} as const;
/** One of the {@link PortErrorCode} values. */
export type PortErrorCodeValue = (typeof PortErrorCode)[keyof typeof PortErrorCode];

/** The codes a {@link PortBindError} carries. */
export type PortBindErrorCode = Exclude<
  PortErrorCodeValue,
  typeof PortErrorCode.RANGE_EXHAUSTED | typeof PortErrorCode.OWNER_EXISTS
>;

/** Counts a pool reports when it cannot allocate. */
export interface ExhaustionCounts {
  readonly size: number;
  readonly used: number;
  readonly cooling: number;
  readonly foreign: number;
}

/**
 * No port (or pair, or block) of the range can be had right now. Thrown at once, never after a
 * wait: widen the range, release leases, lower `cooldownMs`, or free the ports other processes hold.
 */
export class PortRangeExhaustedError extends PortholeError {
  readonly counts: ExhaustionCounts;

  constructor(what: string, range: string, counts: ExhaustionCounts) {
    super(
      PortErrorCode.RANGE_EXHAUSTED,
      `no ${what} free in ${range}: ${counts.used} of ${counts.size} ports leased, ${counts.cooling} cooling down, ` +
        `${counts.foreign} held by other processes; widen the range, release leases or shorten cooldownMs`,
    );
    this.counts = counts;
  }
}

/**
 * A bind failed for a reason no other port of the range can fix (the address is not on this
 * machine, permission is denied, or the process is out of file descriptors). `errno` is the
 * system code (EADDRNOTAVAIL, EACCES, EMFILE, ENFILE, ...).
 */
export class PortBindError extends PortholeError {
  declare readonly code: PortBindErrorCode;
  readonly errno: string;
  readonly port: number;
  readonly address: string;

  constructor(
    code: PortBindErrorCode,
    message: string,
    errno: string,
    address: string,
    port: number,
    cause: unknown,
  ) {
    super(code, message, { cause });
    this.errno = errno;
    this.address = address;
    this.port = port;
  }
}

/** A second registration under an owner id that already holds ports. Release the first one. */
export class OwnerConflictError extends PortholeError {
  readonly owner: string;

  constructor(owner: string) {
    super(
      PortErrorCode.OWNER_EXISTS,
      `owner "${owner}" already holds ports in this pool; unregister it before registering again`,
    );
    this.owner = owner;
  }
}
