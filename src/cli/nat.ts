import { isIP } from 'node:net';
import type { Command } from 'commander';
import { formatEndpoint } from '../internal/endpoint.ts';
import { parseHostPort } from '../internal/host-port.ts';
import type { NatBehavior } from '../nat/index.ts';
import { CliFailure, ExitCode, familyOf, hostPort, ipAddress, numberIn, oneOf } from './fail.ts';

interface NatCommandOptions {
  server: string;
  json?: boolean;
  family?: 'udp4' | 'udp6';
  localAddress?: string;
  hairpin: boolean;
  lifetime?: number | true;
  lifetimePrecision: number;
  rto: number;
}

/** Default upper bound of the binding lifetime probe, seconds. */
const DEFAULT_LIFETIME_S = 60;

/**
 * `porthole nat`: discovers the NAT in front of this host with an RFC 5780 STUN server. No answer
 * from the server is exit 3 (nothing was measured), not a verdict about the network.
 */
export function register(program: Command): void {
  program
    .command('nat')
    .description(
      'discover the NAT in front of this host (RFC 5780: mapping, filtering, hairpinning, lifetime)',
    )
    .requiredOption(
      '--server <host[:port]>',
      'an RFC 5780 STUN server (two IP addresses), port default 3478',
      hostPort(),
    )
    .option('--json', 'print one JSON object on stdout')
    .option(
      '--family <udp4|udp6>',
      'socket family (default: the family of --server, else udp4)',
      oneOf(['udp4', 'udp6'] as const),
    )
    .option(
      '--local-address <address>',
      'local IP address to bind (default: the wildcard of the family)',
      ipAddress,
    )
    .option('--no-hairpin', 'skip the hairpinning test')
    .option(
      '--lifetime [maxSeconds]',
      `also probe the binding lifetime, up to maxSeconds (1-3600, default ${DEFAULT_LIFETIME_S})`,
      numberIn({ min: 1, max: 3_600, integer: true, unit: 'seconds' }),
    )
    .option(
      '--lifetime-precision <seconds>',
      'width of the lifetime bracket (1-600)',
      numberIn({ min: 1, max: 600, unit: 'seconds' }),
      5,
    )
    .option(
      '--rto <ms>',
      'initial retransmission timeout of each request (10-10000)',
      numberIn({ min: 10, max: 10_000, integer: true, unit: 'ms' }),
      250,
    )
    .action(async (options: NatCommandOptions) => {
      const { detectNat } = await import('../nat/index.ts');
      const family = checkFamily(options);
      const maxS = options.lifetime === true ? DEFAULT_LIFETIME_S : options.lifetime;
      if (maxS !== undefined && options.lifetimePrecision >= maxS) {
        throw new CliFailure(
          `--lifetime-precision ${options.lifetimePrecision} is not below --lifetime ${maxS}`,
          ExitCode.USAGE,
          'give a smaller precision or a longer lifetime bound',
        );
      }
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const progress = showProgress(maxS);
      let result: NatBehavior;
      try {
        result = await detectNat({
          server: options.server,
          family,
          hairpinning: options.hairpin,
          retransmit: { rtoMs: options.rto },
          signal: controller.signal,
          ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
          ...(maxS === undefined ? {} : { lifetime: { maxS, precisionS: options.lifetimePrecision } }),
        });
      } catch (error) {
        if (controller.signal.aborted) {
          throw new CliFailure('interrupted: no result', ExitCode.INTERRUPTED, undefined, { cause: error });
        }
        throw error;
      } finally {
        progress.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (options.json === true) console.log(JSON.stringify(result));
      else printResult(result);
      if (result.natClass === 'blocked') {
        throw new CliFailure(
          `no answer from ${options.server}: nothing listens there, or UDP to it is blocked (nothing was measured)`,
          ExitCode.UNREACHABLE,
          'check the address and port (is it a STUN server?), then try a second server: if none answers, UDP is blocked',
        );
      }
    });
}

/** The socket family: --family, else that of a numeric --server; a mismatch is a usage error. */
function checkFamily(options: NatCommandOptions): 'udp4' | 'udp6' {
  const { host } = parseHostPort(options.server, { option: '--server' });
  const ofServer = isIP(host) === 0 ? undefined : familyOf(host);
  const ofLocal = options.localAddress === undefined ? undefined : familyOf(options.localAddress);
  const family = options.family ?? ofServer ?? ofLocal ?? 'udp4';
  for (const [flag, other] of [
    ['--server', ofServer],
    ['--local-address', ofLocal],
  ] as const) {
    if (other !== undefined && other !== family) {
      throw new CliFailure(
        `${flag} is ${other === 'udp6' ? 'IPv6' : 'IPv4'} but the family is ${family}`,
        ExitCode.USAGE,
        `give --family ${other}, or leave --family out`,
      );
    }
  }
  return family;
}

/**
 * On a terminal, a progress line on stderr while the discovery runs (the lifetime probe takes long);
 * elsewhere one line when the lifetime is probed.
 */
function showProgress(maxS: number | undefined): { stop(): void } {
  if (process.stderr.isTTY !== true) {
    if (maxS !== undefined) {
      process.stderr.write(`porthole nat: discovering; the binding lifetime probe takes up to ${maxS} s\n`);
    }
    return { stop() {} };
  }
  const started = performance.now();
  const timer = setInterval(() => {
    const s = Math.round((performance.now() - started) / 1000);
    const what = maxS === undefined ? 'discovering' : `discovering, binding lifetime up to ${maxS} s`;
    process.stderr.write(`\r\x1b[2Kporthole nat: ${what}… ${s} s (Ctrl-C stops)`);
  }, 1_000);
  return {
    stop() {
      clearInterval(timer);
      if (performance.now() - started >= 1_000) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** The result's sentence, corrected where the server could not test what it claims. */
function sentenceOf(r: NatBehavior): string {
  if (r.natClass === 'blocked' || r.server.other !== null) return r.sentence;
  const untested = 'filtering was not tested: the server has no RFC 5780 alternate address (OTHER-ADDRESS)';
  if (r.natDetected === false) return `No NAT: your public address is your local one; ${untested}.`;
  if (r.natDetected === true) return `You are behind a NAT; its mapping and ${untested}.`;
  return r.sentence;
}

function printResult(r: NatBehavior): void {
  const line = (label: string, value: string): void => console.log(`  ${label.padEnd(20)} ${value}`);
  const yesNo = (value: boolean | null, unknown = 'unknown'): string =>
    value === null ? unknown : value ? 'yes' : 'no';
  console.log(sentenceOf(r));
  console.log('');
  line('class', r.natClass);
  line('mapping', r.mapping);
  line('filtering', r.filtering);
  line('public address', r.mappedAddress === null ? 'none' : formatEndpoint(r.mappedAddress));
  line('local port', String(r.localPort));
  line('NAT detected', yesNo(r.natDetected));
  line('port preservation', yesNo(r.portPreservation));
  line('hairpinning', yesNo(r.hairpinning, 'not tested'));
  if (r.bindingLifetime !== null) {
    const { aliveS, expiredS } = r.bindingLifetime;
    line('binding lifetime', expiredS === null ? `≥ ${aliveS} s` : `${aliveS}–${expiredS} s`);
  }
  line('server', formatEndpoint(r.server.primary));
  line('server alternate', r.server.other === null ? 'none (no RFC 5780)' : formatEndpoint(r.server.other));
  for (const note of r.notes) line('note', note);
}
