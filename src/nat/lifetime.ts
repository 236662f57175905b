import { type AbortOptions, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import type { BindingLifetime, NatEndpoint } from './behavior.ts';
import type { DiscoveryTransport } from './transport.ts';

/** Default longest idle time tried, in seconds. */
export const DEFAULT_LIFETIME_MAX_S = 60;
/** Default width of the final bracket, in seconds. */
export const DEFAULT_LIFETIME_PRECISION_S = 5;
/** Most trials one probe makes (each on a fresh socket). */
export const MAX_LIFETIME_TRIALS = 16;
/** Socket that sends the RESPONSE-PORT requests (it never needs to receive them). */
const HELPER_SOCKET = 0;
/** First socket used for trial bindings. */
const FIRST_TRIAL_SOCKET = 2;

/** Settings of {@link probeBindingLifetime}. */
export interface ProbeBindingLifetimeOptions {
  /** The server's primary address (it must honour RESPONSE-PORT, RFC 5780 §7.5). */
  readonly server: NatEndpoint;
  /** Longest idle time tried, in seconds. Default {@link DEFAULT_LIFETIME_MAX_S}. */
  readonly maxS?: number;
  /** Stop when the bracket is this narrow, in seconds. Default {@link DEFAULT_LIFETIME_PRECISION_S}. */
  readonly precisionS?: number;
  /** Waits `ms` milliseconds. */
  readonly sleep: (ms: number, options?: AbortOptions) => Promise<void>;
  readonly signal?: AbortSignal;
}

/**
 * Measures how long a UDP binding survives without outbound traffic. RFC 5780 §4.6, with the
 * trials run side by side so that the probe takes about `maxS` seconds rather than a sum of waits:
 * 1. For each idle time T of a grid 0, step, 2·step, …, maxS (step ≥ `precisionS`, at most
 *    {@link MAX_LIFETIME_TRIALS} points), a fresh socket X sends a Binding request and learns its
 *    mapping M.
 * 2. Nothing is sent from X for T seconds.
 * 3. Socket 0 sends a Binding request with RESPONSE-PORT = M's port; the server answers to the
 *    NAT's address at that port, from the address X contacted. X receiving it means the binding
 *    (and its filter) lived T seconds.
 * 4. The T = 0 trial failing means the server ignores RESPONSE-PORT: null. Otherwise the result
 *    brackets the lifetime between the longest idle time alive below the shortest one expired.
 */
export async function probeBindingLifetime(
  transport: DiscoveryTransport,
  options: ProbeBindingLifetimeOptions,
): Promise<BindingLifetime | null> {
  const maxS = options.maxS ?? DEFAULT_LIFETIME_MAX_S;
  const precisionS = options.precisionS ?? DEFAULT_LIFETIME_PRECISION_S;
  if (!(maxS > 0 && maxS <= 3600) || !(precisionS > 0 && precisionS <= maxS)) {
    throw new InvalidOptionError(
      maxS > 0 && maxS <= 3600 ? 'precisionS' : 'maxS',
      `lifetime maxS must be in (0, 3600] and precisionS in (0, maxS]; got ${maxS} and ${precisionS}`,
    );
  }
  throwIfAborted(options.signal);
  const steps = Math.min(MAX_LIFETIME_TRIALS - 1, Math.ceil(maxS / precisionS));
  const grid = Array.from({ length: steps + 1 }, (_, i) => Math.round(((maxS * i) / steps) * 1000) / 1000);

  // 1–3. One trial per idle time, concurrently, each on its own socket.
  const trial = async (idleS: number, x: number): Promise<boolean | null> => {
    const bound = await transport.bindingRequest(
      { socketIndex: x, server: options.server, changeIp: false, changePort: false },
      { signal: options.signal },
    );
    if (bound === 'timeout') return null;
    if (idleS > 0) await options.sleep(Math.round(idleS * 1000), { signal: options.signal });
    const answer = await transport.bindingRequest(
      {
        socketIndex: HELPER_SOCKET,
        server: options.server,
        changeIp: false,
        changePort: false,
        responsePort: bound.mapped.port,
        receiveOn: x,
      },
      { signal: options.signal },
    );
    return answer !== 'timeout';
  };
  const outcomes = await Promise.all(grid.map((idleS, i) => trial(idleS, FIRST_TRIAL_SOCKET + i)));

  // 4. Bracket.
  if (outcomes[0] !== true || outcomes.includes(null)) return null;
  const firstExpired = outcomes.indexOf(false);
  if (firstExpired < 0) return { aliveS: maxS, expiredS: null };
  return { aliveS: grid[firstExpired - 1]!, expiredS: grid[firstExpired]! };
}
