import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMulticastAddress, MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

describe('multicast options (no network needed)', () => {
  test('isMulticastAddress knows 224.0.0.0/4 and ff00::/8', () => {
    const cases: readonly [string, boolean][] = [
      ['224.0.0.1', true],
      ['239.255.255.255', true],
      ['232.1.2.3', true],
      ['223.255.255.255', false],
      ['240.0.0.1', false],
      ['10.0.0.1', false],
      ['ff02::1', true],
      ['FF3E::8000:1', true],
      ['fe80::1', false],
      ['::1', false],
      ['not-an-ip', false],
      ['', false],
    ];
    for (const [address, expected] of cases) assert.equal(isMulticastAddress(address), expected, address);
  });

  test('bad memberships and settings are typed errors', async () => {
    await using v4 = await MediaTransport.listenEphemeralPair('127.0.0.1');
    await using v6 = await MediaTransport.listenEphemeralSingle('::1');
    const cases: readonly [string, () => unknown, string][] = [
      ['IPv6 group on udp4', () => v4.joinMulticast({ group: 'ff1e::1' }), 'group'],
      ['IPv4 group on udp6', () => v6.joinMulticast({ group: '239.1.1.1' }), 'group'],
      ['a name as group', () => v4.joinMulticast({ group: 'example.org' }), 'group'],
      ['a multicast source', () => v4.joinMulticast({ group: '232.1.1.1', source: '239.0.0.1' }), 'source'],
      [
        'a source of the other family',
        () => v4.joinMulticast({ group: '232.1.1.1', source: '::1' }),
        'source',
      ],
      ['an unknown interface', () => v4.joinMulticast({ group: '239.1.1.1', iface: 'nope0' }), 'interface'],
      ['ttl 256', () => v4.setMulticast({ ttl: 256 }), 'ttl'],
      ['ttl -1', () => v4.setMulticast({ ttl: -1 }), 'ttl'],
      ['loopback "yes"', () => v4.setMulticast({ loopback: 'yes' as unknown as boolean }), 'loopback'],
      ['an unknown outgoing interface', () => v6.setMulticast({ iface: 'nope0' }), 'interface'],
    ];
    for (const [name, call, option] of cases) {
      assert.throws(call, { code: 'ERR_INVALID_OPTION', option }, name);
    }
  });

  test('a unicast group is a no-op', async () => {
    await using t = await MediaTransport.listenEphemeralPair('127.0.0.1');
    assert.equal(t.joinMulticast({ group: '127.0.0.1' }), false);
    assert.equal(t.leaveMulticast({ group: '127.0.0.1' }), false);
  });

  test('joins both sockets of a pair once, keeps memberships across rebind, leaves', async () => {
    await using t = await MediaTransport.listenEphemeralPair('0.0.0.0');
    const m = { group: '239.77.1.1', iface: '127.0.0.1' };
    assert.equal(t.joinMulticast(m), true);
    assert.equal(t.joinMulticast(m), true, 'joining again is a no-op, not EADDRINUSE');
    for (const s of [t.media.socket, t.rtcp.socket]) {
      assert.throws(() => s.addMembership(m.group, m.iface), { code: 'EADDRINUSE' }, 'already a member');
    }
    t.setMulticast({ ttl: 5, loopback: false, iface: 'lo' });
    await t.rebind();
    for (const s of [t.media.socket, t.rtcp.socket]) {
      assert.throws(() => s.addMembership(m.group, m.iface), { code: 'EADDRINUSE' }, 'rejoined after rebind');
    }
    assert.equal(t.leaveMulticast(m), true);
    assert.equal(t.leaveMulticast(m), false);
    t.media.socket.addMembership(m.group, m.iface);
    t.media.socket.dropMembership(m.group, m.iface);
  });
});
