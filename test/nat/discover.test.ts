import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { discoverNat, type NatClassType } from '../../src/nat/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';
import {
  ALTERNATE,
  type FakeFiltering,
  type FakeMapping,
  FakeNetwork,
  type FakeNetworkSpec,
  PRIMARY,
  PUBLIC_IP,
} from './fake-network.ts';

checkLeaks();

const MAPPING_WORDS = {
  EIM: 'endpoint-independent',
  ADM: 'address-dependent',
  APDM: 'address-and-port-dependent',
};
const FILTERING_WORDS = {
  EIF: 'endpoint-independent',
  ADF: 'address-dependent',
  APDF: 'address-and-port-dependent',
};

function expectedClass(mapping: FakeMapping, filtering: FakeFiltering): NatClassType {
  if (mapping !== 'EIM') return 'symmetric';
  return filtering === 'EIF' ? 'full-cone' : filtering === 'ADF' ? 'address-restricted' : 'port-restricted';
}

async function run(spec: FakeNetworkSpec, extra: { hairpinning?: boolean } = {}) {
  const net = new FakeNetwork(spec);
  const result = await discoverNat(net.transport(), { server: PRIMARY, sleep: net.sleep, ...extra });
  return { net, result };
}

describe('discoverNat: RFC 5780 mapping × filtering matrix', () => {
  for (const mapping of ['EIM', 'ADM', 'APDM'] as const) {
    for (const filtering of ['EIF', 'ADF', 'APDF'] as const) {
      test(`${mapping} + ${filtering} → ${expectedClass(mapping, filtering)}`, async () => {
        const { result, net } = await run({ mapping, filtering });
        assert.equal(result.natClass, expectedClass(mapping, filtering));
        assert.equal(result.mapping, MAPPING_WORDS[mapping]);
        assert.equal(result.filtering, FILTERING_WORDS[filtering]);
        assert.equal(result.natDetected, true);
        assert.equal(result.mappedAddress?.address, PUBLIC_IP);
        assert.deepEqual(result.server, { primary: PRIMARY, other: ALTERNATE });
        assert.deepEqual(result.notes, []);
        // The filtering tests never run on the mapping socket, whose traffic to the alternate
        // address would open an address-dependent filter (RFC 5780 §4.4).
        const changes = net.log.filter((r) => r.changeIp || r.changePort);
        assert.ok(changes.length >= 1);
        assert.ok(changes.every((r) => r.socketIndex === 1));
        assert.ok(net.log.filter((r) => r.socketIndex === 1).every((r) => r.server === PRIMARY));
      });
    }
  }
});

describe('discoverNat: edge cases', () => {
  test('no answer at all → blocked', async () => {
    const { result } = await run({ blocked: true });
    assert.equal(result.natClass, 'blocked');
    assert.equal(result.mappedAddress, null);
    assert.equal(result.natDetected, null);
    assert.equal(result.sentence, 'UDP is blocked: the STUN server never answered.');
  });

  test('mapped address is a local endpoint and nothing is filtered → open internet', async () => {
    const { result } = await run({ nat: false, filtering: 'EIF' });
    assert.equal(result.natClass, 'open');
    assert.equal(result.natDetected, false);
    assert.equal(result.mapping, 'endpoint-independent');
    assert.equal(result.hairpinning, null, 'hairpinning is meaningless without a NAT');
    assert.match(result.sentence, /^You are on the open internet/);
  });

  test('public address with a port-dependent firewall → firewalled', async () => {
    const { result } = await run({ nat: false, filtering: 'APDF' });
    assert.equal(result.natClass, 'firewalled');
    assert.equal(result.filtering, 'address-and-port-dependent');
  });

  test('a server without OTHER-ADDRESS cannot classify the NAT', async () => {
    const { result, net } = await run({ otherAddress: false });
    assert.equal(result.natClass, 'unknown');
    assert.equal(result.mapping, 'unknown');
    assert.equal(result.filtering, 'unknown');
    assert.equal(result.natDetected, true);
    assert.match(result.notes.join(), /OTHER-ADDRESS/);
    assert.equal(net.log.filter((r) => r.socketIndex === 0).length, 1, 'only test I was sent');
  });

  test('an OTHER-ADDRESS with the primary IP is refused', async () => {
    const { result } = await run({ otherAddress: 'same-ip' });
    assert.equal(result.mapping, 'unknown');
    assert.match(result.notes.join(), /does not differ/);
  });

  test('an unreachable alternate address leaves mapping and filtering unknown with notes', async () => {
    const { result } = await run({ alternateDown: true, filtering: 'APDF' });
    assert.equal(result.mapping, 'unknown');
    assert.equal(result.natClass, 'unknown');
    assert.match(result.notes.join(), /did not answer/);
  });

  test('port preservation is reported both ways', async () => {
    assert.equal((await run({ preservePorts: true })).result.portPreservation, true);
    const changed = await run({ preservePorts: false });
    assert.equal(changed.result.portPreservation, false);
    assert.match(changed.result.sentence, /port changed/);
  });

  test('hairpinning: supported, not supported, not asked, transport cannot', async () => {
    assert.equal((await run({ hairpin: true })).result.hairpinning, true);
    assert.equal((await run({ hairpin: false })).result.hairpinning, false);
    assert.equal((await run({ hairpin: true }, { hairpinning: false })).result.hairpinning, null);
    assert.equal((await run({ hairpin: true, canProbeHairpin: false })).result.hairpinning, null);
  });

  test('the sentence names the class, behaviours, address and hairpinning', async () => {
    const { result } = await run({ mapping: 'EIM', filtering: 'APDF', preservePorts: true });
    assert.equal(
      result.sentence,
      'You are behind a port-restricted cone NAT (NAT3): mapping endpoint-independent, filtering ' +
        `address-and-port-dependent, public address ${PUBLIC_IP}:50000 (port preserved), no hairpinning.`,
    );
  });

  test('bad options and an aborted signal are refused with codes', async () => {
    const net = new FakeNetwork();
    await assert.rejects(discoverNat(net.transport(), { server: { address: '', port: 3478 } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'server.address',
    });
    await assert.rejects(discoverNat(net.transport(), { server: { address: PRIMARY.address, port: 0 } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'server.port',
    });
    await assert.rejects(discoverNat(net.transport(), { server: PRIMARY, signal: AbortSignal.abort() }), {
      code: 'ERR_ABORTED',
    });
  });
});

describe('discoverNat: seeded random networks', () => {
  test('the class always follows the simulated behaviour', async () => {
    const seed = testSeed(0xd15c);
    const prng = new Prng(seed);
    const next = (n: number): number => prng.int(n);
    const mappings = ['EIM', 'ADM', 'APDM'] as const;
    const filterings = ['EIF', 'ADF', 'APDF'] as const;
    try {
      for (let i = 0; i < 200; i++) {
        const spec = {
          mapping: mappings[next(3)]!,
          filtering: filterings[next(3)]!,
          hairpin: next(2) === 0,
          preservePorts: next(2) === 0,
        };
        const { result } = await run(spec);
        assert.equal(result.natClass, expectedClass(spec.mapping, spec.filtering), JSON.stringify(spec));
        assert.equal(result.hairpinning, spec.hairpin);
        assert.equal(result.portPreservation, spec.preservePorts);
      }
    } catch (error) {
      console.error(`discoverNat random test failed with seed ${seed} (${replayHint()})`);
      throw error;
    }
  });
});
