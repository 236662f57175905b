import { PortholeError } from '../errors/index.ts';

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
      'ERR_PORT_RANGE_EXHAUSTED',
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
  readonly errno: string;
  readonly port: number;
  readonly address: string;

  constructor(code: string, message: string, errno: string, address: string, port: number, cause: unknown) {
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
      'ERR_PORT_OWNER_EXISTS',
      `owner "${owner}" already holds ports in this pool; unregister it before registering again`,
    );
    this.owner = owner;
  }
}
