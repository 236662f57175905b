import type { Socket } from 'node:dgram';
import { throwIfAborted } from '../errors/index.ts';
import { WILDCARD_ADDRESS } from '../internal/endpoint.ts';
import { bindUdpSocket, type SocketFamily } from './bind-socket.ts';
import { closeSockets } from './close-sockets.ts';
import { PortBindError, PortErrorCode } from './errors.ts';
import { checkLocalHost } from './host.ts';
import { type EphemeralOverlap, findEphemeralOverlap, readKernelPortRanges } from './kernel-range.ts';
import { formatPortRange, type PortRange, parsePortRange } from './range.ts';

/** What {@link surveyPortRange} looks at. */
export interface SurveyOptions {
  readonly range: string | PortRange;
  /** Default the family's wildcard. */
  readonly host?: string;
  /** Default `udp4`. */
  readonly family?: SocketFamily;
  /** Ports probed at once; each batch is bound, held together, then closed. Default 256. */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/** The state of a port range as a pool would meet it. */
export interface PortSurvey {
  readonly range: PortRange;
  readonly host: string;
  readonly family: SocketFamily;
  readonly size: number;
  /** Ports this process could bind. */
  readonly free: readonly number[];
  /** Ports another socket holds (EADDRINUSE). */
  readonly foreign: readonly number[];
  /** Ports that failed for another reason, with the error code. */
  readonly failed: readonly { readonly port: number; readonly code: string }[];
  /** Even ports P in the range with P and P+1 both free. */
  readonly freePairs: number;
  /** Even/odd pairs the range holds in all. */
  readonly totalPairs: number;
  /** Overlap with the kernel's ephemeral range (Linux), if any. */
  readonly ephemeral: EphemeralOverlap | undefined;
  /** What to do about what was found; empty when all is well. */
  readonly advice: readonly string[];
}

/**
 * Probes every port of a range by binding it, to report which are free, which another process
 * holds, and how many even/odd pairs are available. A diagnostic: a batch of ports is held at once
 * and then released, so the result is a snapshot, not a reservation — allocate through a PortPool.
 */
export async function surveyPortRange(options: SurveyOptions): Promise<PortSurvey> {
  const range = parsePortRange(options.range);
  const family = options.family ?? 'udp4';
  const host = options.host ?? WILDCARD_ADDRESS[family] ?? '0.0.0.0';
  checkLocalHost(host, family);
  const batchSize = Math.max(1, options.batchSize ?? 256);
  const free: number[] = [];
  const foreign: number[] = [];
  const failed: { port: number; code: string }[] = [];
  for (let start = range.first; start <= range.last; start += batchSize) {
    throwIfAborted(options.signal);
    const end = Math.min(range.last, start + batchSize - 1);
    const ports = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const results = await Promise.allSettled(
      ports.map((port) => bindUdpSocket({ family, address: host, port, exclusive: true })),
    );
    const sockets: Socket[] = [];
    results.forEach((result, i) => {
      const port = ports[i]!;
      if (result.status === 'fulfilled') {
        sockets.push(result.value);
        free.push(port);
      } else if (result.reason instanceof PortBindError && result.reason.errno === 'EADDRINUSE') {
        foreign.push(port);
      } else {
        failed.push({ port, code: (result.reason as { code?: string }).code ?? PortErrorCode.BIND_FAILED });
      }
    });
    await closeSockets(sockets);
  }
  const freeSet = new Set(free);
  let freePairs = 0;
  let totalPairs = 0;
  for (let p = range.first + (range.first % 2); p + 1 <= range.last; p += 2) {
    totalPairs++;
    if (freeSet.has(p) && freeSet.has(p + 1)) freePairs++;
  }
  const ephemeral = findEphemeralOverlap(range, readKernelPortRanges());
  const survey = {
    range,
    host,
    family,
    size: range.last - range.first + 1,
    free,
    foreign,
    failed,
    freePairs,
    totalPairs,
    ephemeral,
  };
  return { ...survey, advice: adviseOn(survey) };
}

function adviseOn(s: Omit<PortSurvey, 'advice'>): string[] {
  const advice: string[] = [];
  const text = formatPortRange(s.range);
  if (s.ephemeral !== undefined && s.ephemeral.unreserved > 0) {
    const overlap = formatPortRange(s.ephemeral.overlap);
    advice.push(
      `${s.ephemeral.unreserved} ports of ${overlap} lie in the kernel's ephemeral range ` +
        `${formatPortRange(s.ephemeral.ephemeral)}: the kernel may hand them to any socket. Reserve them with ` +
        `"sysctl -w net.ipv4.ip_local_reserved_ports=${overlap}" (persist it in /etc/sysctl.d) or move the range.`,
    );
  }
  if (s.foreign.length > 0) {
    advice.push(
      `${s.foreign.length} ports are held by other processes; a pool skips them, but find the holders with ` +
        `"ss -uanp 'sport >= ${s.range.first} and sport <= ${s.range.last}'" if that is unexpected.`,
    );
  }
  const codes = new Set(s.failed.map((f) => f.code));
  if (codes.has(PortErrorCode.ADDRESS_NOT_AVAILABLE))
    advice.push(`${s.host} cannot be bound: use a local address or the wildcard.`);
  if (codes.has(PortErrorCode.ACCESS_DENIED))
    advice.push('binding was denied: ports below 1024 need CAP_NET_BIND_SERVICE.');
  if (codes.has(PortErrorCode.FILE_DESCRIPTORS_EXHAUSTED))
    advice.push('out of file descriptors: raise "ulimit -n".');
  if (s.free.length === 0) advice.push(`no port of ${text} is free: nothing can be allocated from it now.`);
  else if (s.totalPairs > 0 && s.freePairs === 0)
    advice.push(`no even/odd pair of ${text} is free: RTP/RTCP pairs cannot be allocated.`);
  return advice;
}
