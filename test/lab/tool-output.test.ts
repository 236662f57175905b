import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { parseNatDiscovery, parseStunClient } from './tool-output.ts';

checkLeaks();

// Excerpts of real output (coturn 4.6.1 turnutils_natdiscovery, stun-client 0.97) in the lab.
const NATDISCOVERY_SYM = `
-= Mapping Behavior Discovery =-
RFC 5780 response 3
0: : IPv4. UDP reflexive addr: 172.31.0.14:26925
========================================
NAT with Address and Port Dependent Mapping!
========================================
-= Filtering Behavior Discovery =-
STUN receive timeout..
========================================
NAT with Address and Port Dependent Filtering!
========================================
`;

test('turnutils_natdiscovery verdicts', () => {
  assert.deepEqual(parseNatDiscovery(NATDISCOVERY_SYM), {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
  });
  assert.deepEqual(
    parseNatDiscovery('NAT with Endpoint Independent Mapping!\nNAT with Address Dependent Filtering!\n'),
    { mapping: 'endpoint-independent', filtering: 'address-dependent' },
  );
  assert.deepEqual(parseNatDiscovery('STUN receive timeout..\n'), {
    mapping: 'unknown',
    filtering: 'unknown',
  });
});

test('stun-client verdicts', () => {
  const cases: [string, string][] = [
    ['Primary: Open\t\nReturn value is 0x000001\n', 'open'],
    ['Primary: Independent Mapping, Independent Filter, preserves ports, no hairpin\t\n', 'full-cone'],
    [
      'Primary: Independent Mapping, Address Dependent Filter, preserves ports, no hairpin\t\n',
      'address-restricted',
    ],
    [
      'Primary: Independent Mapping, Port Dependent Filter, preserves ports, no hairpin\t\n',
      'port-restricted',
    ],
    ['Primary: Dependent Mapping, random port, no hairpin\t\n', 'symmetric'],
    ['Primary: Blocked or could not reach STUN server\t\n', 'blocked'],
    ['STUN client version 0.97\n', 'unknown'],
  ];
  for (const [stdout, natClass] of cases) assert.equal(parseStunClient(stdout).natClass, natClass, stdout);
  assert.equal(
    parseStunClient('Primary: Dependent Mapping, random port, no hairpin\t\n').text,
    'Dependent Mapping, random port, no hairpin',
  );
});
