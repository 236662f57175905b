import type { Command } from 'commander';
import { InvalidOptionError } from '../errors/index.ts';
import { detectNat, formatEndpoint, type NatBehavior } from '../nat/index.ts';

interface NatCommandOptions {
  server: string;
  json?: boolean;
  family: 'udp4' | 'udp6';
  localAddress?: string;
  hairpin: boolean;
  lifetime?: string | true;
  lifetimePrecision: string;
  rto: string;
}

/** `porthole nat`: discovers the NAT in front of this host with an RFC 5780 STUN server. */
export function register(program: Command): void {
  program
    .command('nat')
    .description(
      'discover the NAT in front of this host (RFC 5780: mapping, filtering, hairpinning, lifetime)',
    )
    .requiredOption('--server <host[:port]>', 'an RFC 5780 STUN server (two IP addresses), port default 3478')
    .option('--json', 'print one JSON object')
    .option('--family <udp4|udp6>', 'socket family', 'udp4')
    .option('--local-address <address>', 'local address to bind (default: the wildcard of the family)')
    .option('--no-hairpin', 'skip the hairpinning test')
    .option('--lifetime [maxSeconds]', 'also probe the binding lifetime, up to maxSeconds (default 60)')
    .option('--lifetime-precision <seconds>', 'width of the lifetime bracket', '5')
    .option('--rto <ms>', 'initial retransmission timeout of each request', '250')
    .action(async (options: NatCommandOptions) => {
      const maxS = options.lifetime === true ? 60 : Number(options.lifetime);
      const rtoMs = Number(options.rto);
      if (!Number.isFinite(rtoMs) || rtoMs <= 0) {
        throw new InvalidOptionError('rto', `--rto must be a positive number of ms, got ${options.rto}`);
      }
      const controller = new AbortController();
      const onSignal = (): void => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await detectNat({
          server: options.server,
          family: options.family,
          hairpinning: options.hairpin,
          retransmit: { rtoMs },
          signal: controller.signal,
          ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
          ...(options.lifetime === undefined
            ? {}
            : { lifetime: { maxS, precisionS: Number(options.lifetimePrecision) } }),
        });
        if (options.json === true) console.log(JSON.stringify(result));
        else printResult(result);
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}

function printResult(r: NatBehavior): void {
  const line = (label: string, value: string): void => console.log(`  ${label.padEnd(20)} ${value}`);
  const yesNo = (value: boolean | null, unknown = 'unknown'): string =>
    value === null ? unknown : value ? 'yes' : 'no';
  console.log(r.sentence);
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
