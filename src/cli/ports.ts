import type { Command } from 'commander';
import type { PortSurvey } from '../ports/index.ts';
import { CliFailure, ExitCode, familyOf, ipAddress, oneOf } from './fail.ts';

/** `porthole ports`: shows a UDP port range as a pool would meet it. */
export function register(program: Command): void {
  program
    .command('ports')
    .description('show a UDP port range as a pool sees it: free, held by others, ephemeral overlap, pairs')
    .requiredOption('--range <first-last>', 'the port range, e.g. 40000-40999')
    .option('--host <address>', 'local IP address to bind (default: the wildcard of the family)', ipAddress)
    .option(
      '--family <udp4|udp6>',
      'socket family (default: the family of --host, else udp4)',
      oneOf(['udp4', 'udp6'] as const),
    )
    .option('--pairs', 'list the free even/odd pairs')
    .option('--json', 'print one JSON object')
    .action(
      async (options: {
        range: string;
        host?: string;
        family?: 'udp4' | 'udp6';
        pairs?: boolean;
        json?: boolean;
      }) => {
        const { formatPortRange, surveyPortRange } = await import('../ports/index.ts');
        const ofHost = options.host === undefined ? undefined : familyOf(options.host);
        const family = options.family ?? ofHost ?? 'udp4';
        if (ofHost !== undefined && ofHost !== family) {
          throw new CliFailure(
            `--host ${options.host} is ${ofHost === 'udp6' ? 'IPv6' : 'IPv4'} but --family is ${family}`,
            ExitCode.USAGE,
            `give --family ${ofHost}, or leave --family out`,
          );
        }
        const survey = await surveyPortRange({
          range: options.range,
          family,
          ...(options.host === undefined ? {} : { host: options.host }),
        });
        if (options.json === true) {
          const { free, ...rest } = survey;
          console.log(
            JSON.stringify({ ...rest, freeCount: free.length, freePairList: freePairBases(survey) }),
          );
          return;
        }
        printSurvey(survey, options.pairs === true, formatPortRange);
      },
    );
}

function printSurvey(
  s: PortSurvey,
  listPairs: boolean,
  formatPortRange: (range: { first: number; last: number }) => string,
): void {
  const line = (label: string, value: string | number) => console.log(`  ${label.padEnd(24)} ${value}`);
  console.log(`UDP ${formatPortRange(s.range)} on ${s.host} (${s.family}): ${s.size} ports`);
  line('free', s.free.length);
  line('held by other processes', s.foreign.length > 0 ? `${s.foreign.length}: ${compact(s.foreign)}` : 0);
  if (s.failed.length > 0) line('could not bind', s.failed.map((f) => `${f.port} (${f.code})`).join(', '));
  line('free even/odd pairs', `${s.freePairs} of ${s.totalPairs}`);
  line(
    'kernel ephemeral range',
    s.ephemeral === undefined
      ? 'no overlap'
      : `${formatPortRange(s.ephemeral.ephemeral)} overlaps ${formatPortRange(s.ephemeral.overlap)} ` +
          `(${s.ephemeral.unreserved} unreserved)`,
  );
  if (listPairs) line('free pairs (P, P+1)', compact(freePairBases(s), 2) || 'none');
  if (s.advice.length === 0) console.log('\nAll good: a PortPool can use this range.');
  else {
    console.log('\nAdvice:');
    for (const a of s.advice) console.log(`  - ${a}`);
  }
}

function freePairBases(s: PortSurvey): number[] {
  const free = new Set(s.free);
  const bases: number[] = [];
  for (let p = s.range.first + (s.range.first % 2); p + 1 <= s.range.last; p += 2) {
    if (free.has(p) && free.has(p + 1)) bases.push(p);
  }
  return bases;
}

/** `[1,2,3,7]` → `"1-3, 7"`: runs of numbers `step` apart folded (step 2 for pair bases). */
function compact(values: readonly number[], step = 1): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1]! - values[j]! === step) j++;
    parts.push(j === i ? String(values[i]) : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
