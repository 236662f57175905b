// The required NAT matrix (issue 5): from behind each lab NAT (and an un-NATed host), porthole's
// discovery against porthole's RFC 5780 server and against coturn, coturn's turnutils_natdiscovery
// against both, and stun-client against both. Prints one results table (NAT × client × server).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkLabSupport,
  INTERNET_ADDRESSES,
  LabCommandError,
  missingTool,
  NatLab,
  readJsonLine,
} from '../../src/lab/index.ts';
import type { NatBehavior, NatClassType } from '../../src/nat/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import {
  type NatDiscoveryVerdict,
  parseNatDiscovery,
  parseStunClient,
  type StunClientVerdict,
} from './tool-output.ts';

checkLeaks();

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) {
  for (const [file, pkg] of [
    ['turnserver', 'coturn'],
    ['turnutils_natdiscovery', 'coturn'],
    ['stun', 'stun-client'],
  ] as const) {
    skip = (await missingTool(file, pkg)) ?? false;
    if (skip !== false) break;
  }
}

const ROWS = ['fc', 'ar', 'pr', 'sym', 'open'] as const;
type Row = (typeof ROWS)[number];

/** What each row must be found to be. */
const EXPECTED: Readonly<Record<Row, { natClass: NatClassType } & NatDiscoveryVerdict>> = {
  fc: { natClass: 'full-cone', mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  ar: { natClass: 'address-restricted', mapping: 'endpoint-independent', filtering: 'address-dependent' },
  pr: {
    natClass: 'port-restricted',
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
  },
  sym: {
    natClass: 'symmetric',
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
  },
  open: { natClass: 'open', mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
};

const SERVERS = {
  porthole: { port: 3478 },
  coturn: { port: 3480 },
} as const;
type Server = keyof typeof SERVERS;

interface RowResults {
  porthole: Partial<Record<Server, NatBehavior | Error>>;
  natdiscovery: Partial<Record<Server, NatDiscoveryVerdict | Error>>;
  stun: Partial<Record<Server, StunClientVerdict | Error>>;
}

function ok<T>(value: T | Error | undefined, what: string): T {
  if (value instanceof Error) throw new Error(`${what} failed: ${value.message}`, { cause: value });
  if (value === undefined) throw new Error(`${what} did not run`);
  return value;
}

describe('NAT matrix: porthole, coturn and stun-client behind the four lab NATs', { skip }, () => {
  let lab: NatLab;
  let workdir: string;
  const results = new Map<Row, RowResults>();

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'porthole-natlab-'));
    lab = await NatLab.create({ nats: ['fc', 'ar', 'pr', 'sym'], openHost: true });
    const { stunPrimary, stunAlternate } = INTERNET_ADDRESSES;
    const porthole = lab.spawnNode('inet', fixture('stun-server'), [
      stunPrimary,
      stunAlternate,
      String(SERVERS.porthole.port),
    ]);
    await readJsonLine(porthole, (v) => v.ready === true, { timeoutMs: 30_000 });
    // RFC 5780 needs both -L addresses; pid file, database and log stay in our temporary folder.
    lab.spawn(
      'inet',
      'turnserver',
      [
        '-n',
        '--stun-only',
        '--no-cli',
        '--no-tcp',
        '--no-tls',
        '--no-dtls',
        '-L',
        stunPrimary,
        '-L',
        stunAlternate,
        '--listening-port',
        String(SERVERS.coturn.port),
        '--alt-listening-port',
        String(SERVERS.coturn.port + 1),
        '--pidfile',
        join(workdir, 'turnserver.pid'),
        '--db',
        join(workdir, 'turndb'),
        '--log-file',
        join(workdir, 'turnserver.log'),
        '--no-stdout-log',
      ],
      { stdio: 'ignore' },
    );
    for (const port of [SERVERS.coturn.port, SERVERS.coturn.port + 1]) {
      for (const address of [stunPrimary, stunAlternate]) {
        const ping = lab.spawnNode('inet', fixture('stun-ping'), [`${address}:${port}`]);
        const { ready } = await readJsonLine<{ ready: boolean }>(ping, () => true, { timeoutMs: 30_000 });
        assert.equal(ready, true, `coturn answers on ${address}:${port}`);
      }
    }
    // Rows run side by side (separate namespaces); the clients of one row one after the other.
    await Promise.all(ROWS.map(async (row) => results.set(row, await runRow(lab, row))));
  });

  after(async () => {
    printTable(results);
    await lab?.close();
    if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
  });

  for (const row of ROWS) {
    const expected = EXPECTED[row];
    test(`${row}: porthole discovery → porthole server = ${expected.natClass}`, () => {
      const found = ok(results.get(row)?.porthole.porthole, 'porthole discovery');
      assert.equal(found.natClass, expected.natClass, found.sentence);
      assert.equal(found.mapping, expected.mapping);
      assert.equal(found.filtering, expected.filtering);
      if (row === 'open') {
        assert.equal(found.natDetected, false);
      } else {
        assert.equal(found.mappedAddress?.address, lab.natWanAddress(row));
        assert.equal(found.hairpinning, false, 'no lab NAT hairpins');
        if (row !== 'sym') assert.equal(found.portPreservation, true, 'masquerade keeps a free port');
      }
    });

    test(`${row}: porthole discovery → coturn = ${expected.natClass}`, () => {
      const found = ok(results.get(row)?.porthole.coturn, 'porthole discovery against coturn');
      assert.equal(found.natClass, expected.natClass, found.sentence);
    });

    test(`${row}: turnutils_natdiscovery → porthole server agrees with coturn`, () => {
      const againstPorthole = ok(results.get(row)?.natdiscovery.porthole, 'natdiscovery against porthole');
      const againstCoturn = ok(results.get(row)?.natdiscovery.coturn, 'natdiscovery against coturn');
      assert.deepEqual(againstPorthole, againstCoturn);
      assert.deepEqual(againstPorthole, { mapping: expected.mapping, filtering: expected.filtering });
    });

    test(`${row}: stun-client → porthole server reports what it reports against coturn`, () => {
      // stun-client speaks RFC 3489 (no magic cookie): porthole answers it in classic mode.
      const againstCoturn = ok(results.get(row)?.stun.coturn, 'stun-client against coturn');
      assert.equal(againstCoturn.natClass, expected.natClass, `reference: ${againstCoturn.text}`);
      const againstPorthole = ok(results.get(row)?.stun.porthole, 'stun-client against porthole');
      assert.equal(againstPorthole.natClass, expected.natClass, againstPorthole.text);
      assert.equal(againstPorthole.text, againstCoturn.text, 'the same verdict, word for word');
    });
  }
});

async function runRow(lab: NatLab, row: Row): Promise<RowResults> {
  const node = `h-${row}` as const;
  const out: RowResults = { porthole: {}, natdiscovery: {}, stun: {} };
  for (const server of Object.keys(SERVERS) as Server[]) {
    const target = `${INTERNET_ADDRESSES.stunPrimary}:${SERVERS[server].port}`;
    out.porthole[server] = await capture(async () => {
      const child = lab.spawnNode(node, fixture('discover'), [target]);
      return readJsonLine<NatBehavior>(child, (v) => 'natClass' in v, { timeoutMs: 60_000 });
    });
    out.natdiscovery[server] = await capture(async () =>
      parseNatDiscovery(
        await toolOutput(lab, node, 'turnutils_natdiscovery', [
          '-m',
          '-f',
          '-p',
          String(SERVERS[server].port),
          INTERNET_ADDRESSES.stunPrimary,
        ]),
      ),
    );
    out.stun[server] = await capture(async () =>
      parseStunClient(await toolOutput(lab, node, 'stun', [target])),
    );
  }
  return out;
}

/** The stdout of a tool that may exit non-zero by design (stun-client encodes its verdict so). */
async function toolOutput(lab: NatLab, node: `h-${Row}`, command: string, args: string[]): Promise<string> {
  try {
    return (await lab.exec(node, command, args, { timeoutMs: 60_000 })).stdout;
  } catch (error) {
    if (error instanceof LabCommandError && error.code === 'ERR_LAB_COMMAND_FAILED') return error.stdout;
    throw error;
  }
}

async function capture<T>(run: () => Promise<T>): Promise<T | Error> {
  try {
    return await run();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function cell(value: NatBehavior | NatDiscoveryVerdict | StunClientVerdict | Error | undefined): string {
  if (value === undefined) return '—';
  if (value instanceof Error) return `error: ${value.message.slice(0, 40)}`;
  if ('sentence' in value) return value.natClass;
  if ('text' in value) return value.natClass === 'unknown' ? value.text : value.natClass;
  return `${abbreviate(value.mapping)}M / ${abbreviate(value.filtering)}F`;
}

function abbreviate(behaviour: string): string {
  return (
    { 'endpoint-independent': 'EI', 'address-dependent': 'AD', 'address-and-port-dependent': 'APD' }[
      behaviour
    ] ?? '?'
  );
}

function printTable(results: ReadonlyMap<Row, RowResults>): void {
  const header = [
    'NAT',
    'expected',
    'porthole→porthole',
    'porthole→coturn',
    'natdiscovery→porthole',
    'natdiscovery→coturn',
    'stun→porthole',
    'stun→coturn',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const r = results.get(row);
    lines.push(
      `| ${[
        row,
        EXPECTED[row].natClass,
        cell(r?.porthole.porthole),
        cell(r?.porthole.coturn),
        cell(r?.natdiscovery.porthole),
        cell(r?.natdiscovery.coturn),
        cell(r?.stun.porthole),
        cell(r?.stun.coturn),
      ].join(' | ')} |`,
    );
  }
  console.log(`\nNAT discovery matrix (client→server)\n${lines.join('\n')}\n`);
}
