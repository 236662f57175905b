import { setTimeout as sleepMs } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { type AbortOptions, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import { formatEndpoint, sameEndpoint } from '../internal/endpoint.ts';
import {
  type BindingLifetime,
  FilteringBehavior,
  type FilteringBehaviorType,
  MappingBehavior,
  type MappingBehaviorType,
  type NatBehavior,
  type NatEndpoint,
} from './behavior.ts';
import { classifyNat, describeNat } from './classify.ts';
import { probeBindingLifetime } from './lifetime.ts';
import type { BindingResult, DiscoveryTransport } from './transport.ts';

const debug = debuglog('porthole:nat');

/** Socket of the mapping tests (RFC 5780 §4.3). */
const MAPPING_SOCKET = 0;
/** Socket of the filtering tests (RFC 5780 §4.4): fresh, so the mapping tests opened no filter for it. */
const FILTERING_SOCKET = 1;

/** Settings of the binding lifetime probe (RFC 5780 §4.6). */
export interface LifetimeProbeOptions {
  /** Longest idle time tried, in seconds. Default 60. */
  readonly maxS?: number;
  /** Stop when the bracket is this narrow, in seconds. Default 5. */
  readonly precisionS?: number;
}

/** Settings of {@link discoverNat}; all optional but `server`. */
export interface DiscoverNatOptions {
  /** The RFC 5780 server's primary address. */
  readonly server: NatEndpoint;
  /** Test hairpinning (RFC 5780 §4.5) when the transport can. Default true. */
  readonly hairpinning?: boolean;
  /** Probe the binding lifetime (RFC 5780 §4.6); off by default (it takes up to ~2 × maxS). */
  readonly lifetime?: LifetimeProbeOptions | false;
  /** Waits `ms` milliseconds (tests inject a fake clock). Default timers/promises setTimeout. */
  readonly sleep?: (ms: number, options?: AbortOptions) => Promise<void>;
  readonly signal?: AbortSignal;
}

/**
 * Discovers the NAT between `transport` and the internet with an RFC 5780 server and classifies
 * it. Steps:
 * 1. Mapping test I (§4.3): socket 0 → primary. No answer: UDP is blocked, stop. The mapped
 *    address equal to a local endpoint means no NAT.
 * 2. Mapping test II: socket 0 → (alternate IP, primary port). Same mapping as I: EIM.
 * 3. Mapping test III: socket 0 → alternate IP and port. Same as II: ADM, else APDM.
 * 4. Filtering test I (§4.4) on socket 1, which has sent to the primary only.
 * 5. Filtering test II: CHANGE-REQUEST IP+port. An answer: EIF.
 * 6. Filtering test III: CHANGE-REQUEST port. An answer: ADF, else APDF.
 * 7. Hairpinning (§4.5): socket 1 sends to socket 0's mapped address.
 * 8. Optionally the binding lifetime (§4.6, see {@link probeBindingLifetime}).
 * Rejects only when the transport fails (or `ERR_ABORTED`); never-answered tests are results.
 */
export async function discoverNat(
  transport: DiscoveryTransport,
  options: DiscoverNatOptions,
): Promise<NatBehavior> {
  validate(options);
  const { signal } = options;
  const primary = options.server;
  const notes: string[] = [];
  const probe = (socketIndex: number, server: NatEndpoint, changeIp: boolean, changePort: boolean) =>
    transport.bindingRequest({ socketIndex, server, changeIp, changePort }, { signal });

  // 1. Mapping test I.
  const localPort = await transport.localPort(MAPPING_SOCKET, { signal });
  const first = await probe(MAPPING_SOCKET, primary, false, false);
  if (first === 'timeout') {
    return finish({
      natClass: 'blocked',
      mapping: MappingBehavior.UNKNOWN,
      filtering: FilteringBehavior.UNKNOWN,
      hairpinning: null,
      portPreservation: null,
      natDetected: null,
      mappedAddress: null,
      localPort,
      server: { primary, other: null },
      bindingLifetime: null,
      notes: [`no answer from ${formatEndpoint(primary)}`],
    });
  }
  const m1 = first.mapped;
  const natDetected = !(transport.isLocalAddress(m1.address) && m1.port === localPort);
  const other = usableOtherAddress(first, primary, notes);

  // 2–3. Mapping tests II and III.
  let mapping: MappingBehaviorType = MappingBehavior.UNKNOWN;
  if (other !== null) {
    const second = await probe(MAPPING_SOCKET, { address: other.address, port: primary.port }, false, false);
    if (second === 'timeout') {
      notes.push(`the alternate address ${other.address}:${primary.port} did not answer`);
    } else if (sameEndpoint(second.mapped, m1)) {
      mapping = MappingBehavior.ENDPOINT_INDEPENDENT;
    } else {
      const third = await probe(MAPPING_SOCKET, other, false, false);
      if (third === 'timeout') notes.push(`the alternate address ${formatEndpoint(other)} did not answer`);
      else if (sameEndpoint(third.mapped, second.mapped)) mapping = MappingBehavior.ADDRESS_DEPENDENT;
      else mapping = MappingBehavior.ADDRESS_AND_PORT_DEPENDENT;
    }
  }
  debug('mapping %s (M1 %s)', mapping, formatEndpoint(m1));

  // 4–6. Filtering tests on a fresh socket.
  let filtering: FilteringBehaviorType = FilteringBehavior.UNKNOWN;
  let portPreservation: boolean = m1.port === localPort;
  if (other !== null) {
    const filteringLocalPort = await transport.localPort(FILTERING_SOCKET, { signal });
    const base = await probe(FILTERING_SOCKET, primary, false, false);
    if (base === 'timeout') {
      notes.push('the first filtering request got no answer');
    } else {
      portPreservation &&= base.mapped.port === filteringLocalPort;
      if ((await probe(FILTERING_SOCKET, primary, true, true)) !== 'timeout') {
        filtering = FilteringBehavior.ENDPOINT_INDEPENDENT;
      } else if ((await probe(FILTERING_SOCKET, primary, false, true)) !== 'timeout') {
        filtering = FilteringBehavior.ADDRESS_DEPENDENT;
      } else {
        filtering = FilteringBehavior.ADDRESS_AND_PORT_DEPENDENT;
      }
    }
  }
  debug('filtering %s', filtering);

  // 7. Hairpinning.
  let hairpinning: boolean | null = null;
  if (options.hairpinning !== false && natDetected && transport.probeHairpin !== undefined) {
    hairpinning = await transport.probeHairpin(FILTERING_SOCKET, MAPPING_SOCKET, m1, { signal });
  }

  // 8. Binding lifetime.
  let bindingLifetime: BindingLifetime | null = null;
  if (options.lifetime !== undefined && options.lifetime !== false) {
    bindingLifetime = await probeBindingLifetime(transport, {
      server: primary,
      ...options.lifetime,
      sleep:
        options.sleep ??
        ((ms, o) => sleepMs(ms, undefined, o?.signal === undefined ? {} : { signal: o.signal })),
      ...(signal === undefined ? {} : { signal }),
    });
    if (bindingLifetime === null)
      notes.push('the server ignored RESPONSE-PORT: binding lifetime not measured');
  }

  return finish({
    natClass: classifyNat(natDetected, mapping, filtering),
    mapping,
    filtering,
    hairpinning,
    portPreservation,
    natDetected,
    mappedAddress: m1,
    localPort,
    server: { primary, other },
    bindingLifetime,
    notes,
  });
}

function finish(result: Omit<NatBehavior, 'sentence'>): NatBehavior {
  return { ...result, sentence: describeNat(result) };
}

/**
 * OTHER-ADDRESS when it can drive the tests: present, and with an IP and port both different
 * from the primary's (RFC 5780 §4.2: a server with one address cannot run them).
 */
function usableOtherAddress(first: BindingResult, primary: NatEndpoint, notes: string[]): NatEndpoint | null {
  const other = first.otherAddress;
  if (other === null) {
    notes.push('the server sent no OTHER-ADDRESS: it does not support RFC 5780 behaviour discovery');
    return null;
  }
  if (other.address === primary.address || other.port === primary.port) {
    notes.push(`OTHER-ADDRESS ${formatEndpoint(other)} does not differ from the primary in both IP and port`);
    return null;
  }
  return other;
}

function validate(options: DiscoverNatOptions): void {
  throwIfAborted(options.signal);
  const { server } = options;
  if (typeof server?.address !== 'string' || server.address === '') {
    throw new InvalidOptionError('server.address', 'discoverNat needs server.address');
  }
  if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
    throw new InvalidOptionError('server.port', `server.port must be 1–65535, got ${server.port}`);
  }
}
