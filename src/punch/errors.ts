import { PortholeError } from '../errors/index.ts';
import { PunchErrorCode } from './error-codes.ts';
import type { PunchLinkStats } from './link-stats.ts';

/**
 * No path to the peer: punching ran out of time (and the relay, when one was configured, failed
 * too). `stats` is the link's counters at that moment — `probesSent` with no `validated` means
 * nothing came back (filtering NATs, a firewall); a non-zero `badMac` means frames arrived for
 * this link with a wrong HMAC (a stale secret or somebody forging them). Check both NATs' classes
 * and give the peer a TURN relay if it has none.
 */
export class PunchFailedError extends PortholeError {
  declare readonly code: typeof PunchErrorCode.FAILED;
  readonly peerId: string;
  readonly stats: PunchLinkStats;

  constructor(peerId: string, reason: string, stats: PunchLinkStats, options?: ErrorOptions) {
    super(PunchErrorCode.FAILED, `no path to ${peerId}: ${reason}`, options);
    this.peerId = peerId;
    this.stats = stats;
  }
}
