import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { Agent, MulticastLink, netnsSkipReason, nsh, sh } from './netns.ts';

checkLeaks();

const skip = netnsSkipReason() ?? false;
const nftMissing =
  spawnSync('nft', ['--version']).status === 0 ? false : 'needs nftables (nft) to read the TTL';

const SENDER_A = '10.231.0.1';
const SENDER_B = '10.231.0.3';

describe('multicast between two network namespaces', { skip }, () => {
  let link: MulticastLink;
  let rx: Agent;
  let tx: Agent;
  before(async () => {
    link = MulticastLink.create();
    rx = new Agent(link.receiver);
    tx = new Agent(link.sender);
    await Promise.all([rx.ready, tx.ready]);
    await tx.call('open', 'a', { shape: 'ephemeral', host: SENDER_A });
    await tx.call('open', 'b', { shape: 'ephemeral', host: SENDER_B });
    for (const id of ['a', 'b']) await tx.call('set', id, { iface: link.senderIf });
  });
  after(async () => {
    await Promise.all([rx?.stop(), tx?.stop()]);
    link?.destroy();
  });

  test('any-source multicast reaches both sockets of a pair', async () => {
    await rx.call('open', 'asm', { shape: 'pair', host: '0.0.0.0', port: 63400 });
    const joined = await rx.call('join', 'asm', { group: '239.77.0.1', iface: link.receiverIf });
    assert.equal(joined.joined, true);
    await tx.call('send', 'a', { stream: 'media', address: '239.77.0.1', port: 63400, tag: 1 });
    await tx.call('send', 'a', { stream: 'rtcp', address: '239.77.0.1', port: 63401, tag: 2 });
    await rx.until((r) => r.id === 'asm' && r.tag === 1);
    await rx.until((r) => r.id === 'asm' && r.tag === 2);
    const got = rx.received.filter((r) => r.id === 'asm');
    assert.deepEqual(got.map((r) => [r.stream, r.tag, r.from]).sort(), [
      ['media', 1, SENDER_A],
      ['rtcp', 2, SENDER_A],
    ]);
  });

  test('source-specific multicast delivers the selected source and drops the other', async () => {
    await rx.call('open', 'ssm', { shape: 'single', host: '0.0.0.0', port: 63402 });
    await rx.call('join', 'ssm', { group: '232.77.0.1', source: SENDER_A, iface: link.receiverIf });
    await rx.call('open', 'any', { shape: 'single', host: '0.0.0.0', port: 63404 });
    await rx.call('join', 'any', { group: '232.77.0.1', iface: link.receiverIf });
    let tag = 10;
    for (const id of ['b', 'a', 'b', 'a']) {
      tag++;
      for (const port of [63402, 63404]) {
        await tx.call('send', id, { stream: 'media', address: '232.77.0.1', port, tag });
      }
    }
    await rx.until((r) => r.id === 'ssm' && r.tag === 14);
    await rx.until((r) => r.id === 'any' && r.tag === 14);
    const ssm = rx.received.filter((r) => r.id === 'ssm');
    const any = rx.received.filter((r) => r.id === 'any');
    assert.deepEqual(
      ssm.map((r) => [r.tag, r.from]),
      [
        [12, SENDER_A],
        [14, SENDER_A],
      ],
    );
    assert.deepEqual(
      any.map((r) => r.tag),
      [11, 12, 13, 14],
      'the other source did reach the receiver namespace',
    );
    assert.deepEqual([...new Set(any.map((r) => r.from))].sort(), [SENDER_A, SENDER_B]);
  });

  test('IPv6 any-source and source-specific multicast', async () => {
    await tx.call('open', 'v6', { shape: 'ephemeral', host: 'fd00:231::1', family: 'udp6' });
    await tx.call('set', 'v6', { iface: link.senderIf, ttl: 4 });
    await rx.call('open', 'v6asm', { shape: 'single', host: '::', port: 63406 });
    await rx.call('join', 'v6asm', { group: 'ff1e::77', iface: link.receiverIf });
    await rx.call('open', 'v6ssm', { shape: 'single', host: '::', port: 63408 });
    await rx.call('join', 'v6ssm', { group: 'ff3e::8000:77', source: 'fd00:231::1', iface: link.receiverIf });
    await rx.call('open', 'v6other', { shape: 'single', host: '::', port: 63414 });
    await rx.call('join', 'v6other', {
      group: 'ff3e::8000:77',
      source: 'fd00:231::9',
      iface: link.receiverIf,
    });
    await tx.call('send', 'v6', { stream: 'media', address: 'ff3e::8000:77', port: 63414, tag: 30 });
    await tx.call('send', 'v6', { stream: 'media', address: 'ff3e::8000:77', port: 63408, tag: 32 });
    await tx.call('send', 'v6', { stream: 'media', address: 'ff1e::77', port: 63406, tag: 31 });
    await rx.until((r) => r.id === 'v6asm' && r.tag === 31);
    await rx.until((r) => r.id === 'v6ssm' && r.tag === 32);
    const asm = rx.received.filter((r) => r.id === 'v6asm');
    assert.deepEqual(
      asm.map((r) => [r.tag, r.from]),
      [[31, 'fd00:231::1']],
    );
    assert.deepEqual(
      rx.received.filter((r) => r.id === 'v6other'),
      [],
      'SSM for another source dropped the datagram sent before the accepted ones',
    );
  });

  test('a group of the wrong family is refused in the namespace too', async () => {
    await assert.rejects(rx.call('join', 'asm', { group: 'ff1e::1' }), {
      code: 'ERR_INVALID_OPTION',
    });
    const unicast = await rx.call('join', 'asm', { group: '10.231.0.2' });
    assert.equal(unicast.joined, false);
  });

  test('the TTL setting is what the receiver sees', { skip: nftMissing }, async () => {
    const table = `phmc${process.pid}`;
    const rules = [
      `add table ip ${table}`,
      `add counter ip ${table} ttl7`,
      `add counter ip ${table} other`,
      `add chain ip ${table} in { type filter hook input priority 0; policy accept; }`,
      `add rule ip ${table} in ip daddr 239.77.0.9 udp dport 63410 ip ttl 7 counter name ttl7`,
      `add rule ip ${table} in ip daddr 239.77.0.9 udp dport 63410 ip ttl != 7 counter name other`,
    ];
    for (const rule of rules) nsh(link.receiver, 'nft', rule.split(' '));
    const count = (name: string): number => {
      const out = JSON.parse(nsh(link.receiver, 'nft', ['-j', 'list', 'counter', 'ip', table, name])) as {
        nftables: { counter?: { packets: number } }[];
      };
      return out.nftables.find((e) => e.counter !== undefined)!.counter!.packets;
    };
    await rx.call('open', 'ttl', { shape: 'single', host: '0.0.0.0', port: 63410 });
    await rx.call('join', 'ttl', { group: '239.77.0.9', iface: link.receiverIf });
    await tx.call('set', 'a', { ttl: 7 });
    for (const tag of [41, 42, 43])
      await tx.call('send', 'a', { stream: 'media', address: '239.77.0.9', port: 63410, tag });
    await rx.until((r) => r.id === 'ttl' && r.tag === 43);
    assert.equal(count('ttl7'), 3);
    assert.equal(count('other'), 0);
    await tx.call('set', 'a', { ttl: 2 });
    await tx.call('send', 'a', { stream: 'media', address: '239.77.0.9', port: 63410, tag: 44 });
    await rx.until((r) => r.id === 'ttl' && r.tag === 44);
    assert.equal(count('ttl7'), 3);
    assert.equal(count('other'), 1);
    await tx.call('set', 'a', { ttl: 1 });
  });

  test('loopback off keeps our own multicast off this host; on delivers it', async () => {
    await rx.call('open', 'far', { shape: 'single', host: '0.0.0.0', port: 63412 });
    await rx.call('join', 'far', { group: '239.77.0.5', iface: link.receiverIf });
    await tx.call('open', 'near', { shape: 'single', host: '0.0.0.0', port: 63412 });
    await tx.call('join', 'near', { group: '239.77.0.5', iface: link.senderIf });
    await tx.call('set', 'a', { loopback: false });
    await tx.call('send', 'a', { stream: 'media', address: '239.77.0.5', port: 63412, tag: 51 });
    await rx.until((r) => r.id === 'far' && r.tag === 51);
    await tx.call('set', 'a', { loopback: true });
    await tx.call('send', 'a', { stream: 'media', address: '239.77.0.5', port: 63412, tag: 52 });
    await rx.until((r) => r.id === 'far' && r.tag === 52);
    await tx.until((r) => r.id === 'near' && r.tag === 52);
    assert.deepEqual(
      tx.received.filter((r) => r.id === 'near').map((r) => r.tag),
      [52],
      'only the datagram sent with loopback on came back to this host',
    );
  });

  test('the namespaces are ours and exist', () => {
    const names = sh('ip', ['netns', 'list']);
    assert.match(names, new RegExp(link.sender));
    assert.match(names, new RegExp(link.receiver));
  });
});
