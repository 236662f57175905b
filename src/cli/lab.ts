import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { InvalidOptionError, InvalidStateError } from '../errors/index.ts';
import type { NatLab, NatType } from '../lab/index.ts';
import { numberIn } from './fail.ts';
import { LAB_NAT_TYPES } from './flag-constants.ts';

/** The lab layer, loaded when a lab subcommand runs. */
type LabLayer = typeof import('../lab/index.ts');
const loadLab = (): Promise<LabLayer> => import('../lab/index.ts');

const MS = { min: 0, max: 10_000, unit: 'ms' } as const;
const PERCENT = { min: 0, max: 100, unit: '%' } as const;

/** Prefix of the lab `porthole lab up` builds unless told otherwise. */
const CLI_LAB_PREFIX = 'plab';

interface UpOptions {
  nats: string;
  openHost?: boolean;
  prefix: string;
  delay?: number;
  jitter?: number;
  loss?: number;
  reorder?: number;
  json?: boolean;
}

/** `porthole lab up|down|exec|list`: the network-namespace NAT lab (Linux, root). */
export function register(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'the NAT lab: network namespaces with full-cone, restricted and symmetric NATs (Linux, root)',
    );

  lab
    .command('up')
    .description('build the lab and keep it until Ctrl-C, then tear it down')
    .option('--nats <list>', 'NAT types to build, comma-separated (fc, ar, pr, sym)', LAB_NAT_TYPES.join(','))
    .option('--open-host', 'also build h-open, a host on the internet bridge without NAT')
    .option('--prefix <prefix>', 'namespace name prefix', CLI_LAB_PREFIX)
    .option('--delay <ms>', 'netem delay on every NAT uplink, each direction (0-10000)', numberIn(MS))
    .option('--jitter <ms>', 'netem jitter (needs --delay; 0-10000)', numberIn(MS))
    .option('--loss <percent>', 'netem loss on every NAT uplink, each direction (0-100)', numberIn(PERCENT))
    .option('--reorder <percent>', 'netem reordering (needs --delay; 0-100)', numberIn(PERCENT))
    .option('--json', 'print the topology as one JSON object')
    .action(async (options: UpOptions) => {
      const layer = await loadLab();
      const nats = parseNats(options.nats, layer);
      const netem = {
        ...numberOption('delayMs', options.delay),
        ...numberOption('jitterMs', options.jitter),
        ...numberOption('lossPercent', options.loss),
        ...numberOption('reorderPercent', options.reorder),
      };
      const hasNetem = Object.keys(netem).length > 0;
      const built = await layer.NatLab.create({
        nats,
        prefix: options.prefix,
        openHost: options.openHost === true,
        handleSignals: false,
        ...(hasNetem ? { netem: Object.fromEntries(nats.map((nat) => [nat, netem])) } : {}),
      });
      const topology = describeTopology(built, layer);
      if (options.json === true) console.log(JSON.stringify(topology));
      else printTopology(built, topology);
      await new Promise<void>((resolve) => {
        const keepAlive = setInterval(() => {}, 1 << 30);
        const stop = (): void => {
          clearInterval(keepAlive);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', stop);
      });
      await built.close();
      if (options.json !== true) console.log(`lab ${built.prefix} torn down`);
    });

  lab
    .command('down')
    .description('remove a lab left behind (its namespaces and the processes in them)')
    .option('--prefix <prefix>', 'the prefix of the lab to remove', CLI_LAB_PREFIX)
    .option('--stale', 'instead remove every generated lab whose creating process is gone (crashed tests)')
    .action(async (options: { prefix: string; stale?: boolean }) => {
      const { cleanupLabs } = await loadLab();
      const removed = await cleanupLabs(options.stale === true ? {} : { prefix: options.prefix });
      console.log(removed.length === 0 ? 'nothing to remove' : `removed ${removed.join(' ')}`);
    });

  lab
    .command('list')
    .description('list the namespaces of a lab')
    .option('--prefix <prefix>', 'lab prefix', CLI_LAB_PREFIX)
    .action(async (options: { prefix: string }) => {
      const { listNamespaces } = await loadLab();
      const names = (await listNamespaces()).filter((name) => name.startsWith(`${options.prefix}-`));
      console.log(names.length === 0 ? `no lab with prefix ${options.prefix}` : names.join('\n'));
    });

  lab
    .command('exec')
    .description(
      'run a command inside a lab namespace, e.g. `porthole lab exec h-sym -- porthole nat --server 172.31.0.1`',
    )
    .argument('<node>', 'inet, nat-<type>, h-<type> or h-open')
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .option('--prefix <prefix>', 'lab prefix', CLI_LAB_PREFIX)
    .action(async (node: string, command: string[], options: { prefix: string }) => {
      const { isLabNode, listNamespaces } = await loadLab();
      if (!isLabNode(node)) {
        throw new InvalidOptionError('node', `"${node}" is not a lab node (inet, nat-fc, h-fc, …, h-open)`);
      }
      const namespace = `${options.prefix}-${node}`;
      if (!(await listNamespaces()).includes(namespace)) {
        throw new InvalidStateError(`no namespace ${namespace}: is the lab up (porthole lab up)?`);
      }
      const child = spawn('ip', ['netns', 'exec', namespace, ...command], { stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals): void => {
        child.kill(signal);
      };
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await new Promise<number>((resolve) => {
        child.once('error', () => resolve(127));
        child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
      });
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      process.exitCode = code;
    });
}

function parseNats(list: string, { isNatType }: LabLayer): NatType[] {
  const nats = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const nat of nats) {
    if (!isNatType(nat)) throw new InvalidOptionError('--nat', `unknown NAT type "${nat}" (fc, ar, pr, sym)`);
  }
  return nats as NatType[];
}

function numberOption<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, number>>);
}

function describeTopology(lab: NatLab, layer: LabLayer) {
  const { hostAddress, INTERNET_ADDRESSES, LabNatType, natWanAddress, OPEN_HOST_ADDRESS } = layer;
  return {
    prefix: lab.prefix,
    internet: { namespace: lab.namespace('inet'), ...INTERNET_ADDRESSES },
    nats: lab.nats.map((nat) => ({
      type: nat,
      title: LabNatType[nat].title,
      natNamespace: lab.namespace(`nat-${nat}`),
      publicAddress: natWanAddress(nat),
      hostNamespace: lab.namespace(`h-${nat}`),
      hostAddress: hostAddress(nat),
    })),
    openHost: lab.openHost ? { namespace: lab.namespace('h-open'), address: OPEN_HOST_ADDRESS } : null,
  };
}

function printTopology(lab: NatLab, t: ReturnType<typeof describeTopology>): void {
  console.log(`NAT lab ${lab.prefix} is up. Ctrl-C tears it down.\n`);
  console.log(
    `  internet   ${t.internet.namespace}: ${t.internet.stunPrimary}, ${t.internet.stunAlternate} (STUN), ` +
      `${t.internet.rendezvous} (rendezvous)`,
  );
  for (const n of t.nats) {
    console.log(
      `  ${n.title.padEnd(29)} ${n.natNamespace} (${n.publicAddress}) <- ${n.hostNamespace} (${n.hostAddress})`,
    );
  }
  if (t.openHost !== null)
    console.log(`  no NAT                        ${t.openHost.namespace} (${t.openHost.address})`);
  console.log('\nTry (from a checkout, `npm run -s porthole --` stands for `porthole`):');
  const p = lab.prefix === CLI_LAB_PREFIX ? '' : ` --prefix ${lab.prefix}`;
  console.log(
    `  porthole lab exec${p} inet -- porthole stun-server --listen ${t.internet.stunPrimary} --alt ${t.internet.stunAlternate}`,
  );
  console.log(
    `  porthole lab exec${p} h-${t.nats[0]?.type ?? 'fc'} -- porthole nat --server ${t.internet.stunPrimary}`,
  );
}
