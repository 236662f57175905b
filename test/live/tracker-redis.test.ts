// Two tracker instances on one real redis-server: peers registered at different instances are
// offered to each other, introduced across instances and punch a link over loopback; a node that
// leaves one instance disappears from the other; a peer is introduced across instances with its
// certificate fingerprint and candidates (encryptLink works); a restarted instance loses no channel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type DtlsCertificate, generateCertificate } from '../../src/dtls/index.ts';
import { Tracker, TrackerSession } from '../../src/live/index.ts';
import { decodeRedisRecord } from '../../src/live/tracker-redis-record.ts';
import { encryptLink, fingerprintDigest } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { CHANNEL, loopbackDemux, SECRET, tokenFor } from './tracker-helpers.ts';
import { HAVE_REDIS, type RedisServer, startRedis } from './tracker-redis-server.ts';

const skip = HAVE_REDIS ? false : 'redis-server is not installed (apt install redis-server)';
const closers: (() => Promise<void>)[] = [];
let redis: RedisServer | undefined;
before(async () => {
  if (HAVE_REDIS) redis = await startRedis();
});
after(async () => {
  for (const c of closers.reverse()) await c();
  await redis?.stop();
});
checkLeaks();

const FAST = { initialMs: 50, maxMs: 400, transmissions: 8 } as const;

async function tracker(prefix: string, port = 0): Promise<Tracker> {
  const t = await Tracker.listen({
    address: '127.0.0.1',
    port,
    secret: SECRET,
    store: { redis: redis!.url, prefix, refreshMs: 100 },
  });
  closers.push(() => t.close());
  return t;
}

async function peer(at: Tracker, id: string, certificate?: DtlsCertificate): Promise<TrackerSession> {
  const { demux, close } = await loopbackDemux();
  const session = await TrackerSession.join({
    ...(certificate === undefined ? {} : { certificate }),
    tracker: { address: '127.0.0.1', port: at.address().port },
    demux,
    token: tokenFor(id),
    channelId: CHANNEL.id,
    peerId: id,
    role: 'peer',
    natClass: 'open',
    uploadCapBps: 1_000_000,
    retransmit: FAST,
  });
  closers.push(async () => {
    await session.close();
    await close();
  });
  return session;
}

describe('tracker on Redis', { skip }, () => {
  it('introduces peers registered at different instances; they punch and exchange datagrams', async () => {
    const one = await tracker('t1:');
    const two = await tracker('t1:');
    const a = await peer(one, 'alice');
    const b = await peer(two, 'bob');
    const offered = await waitFor(async () => (await a.candidates(8)).find((c) => c.id === 'bob'), {
      what: 'bob (at instance two) offered to alice (at instance one)',
    });
    assert.equal(offered.uploads, true);
    assert.ok((await b.candidates(8)).some((c) => c.id === 'alice'));
    const accepted = b.punch.accept();
    const link = await a.punch.dial('bob');
    const other = await accepted;
    const got = new Promise<string>((resolve) => other.onDatagram((d) => resolve(Buffer.from(d).toString())));
    link.send(Buffer.from('across two trackers'));
    assert.equal(await got, 'across two trackers');
    assert.equal(one.stats().broker.introductions, 1);
    assert.equal(two.stats().broker.introductions, 1);
    assert.equal(two.swarm().channels[0]?.nodes.find((n) => n.id === 'alice')?.remote, true);
    await link.close();
    await other.close();
    await a.close();
    await waitFor(() => !two.swarm().channels[0]?.nodes.some((n) => n.id === 'alice'), {
      what: 'alice gone from instance two after she left instance one',
    });
    assert.equal(one.stats().storeErrors + two.stats().storeErrors, 0);
  });

  it('a peer at another instance is introduced with its certificate and candidates: encryptLink works across them', async () => {
    const one = await tracker('t4:');
    const two = await tracker('t4:');
    const [aliceCert, bobCert] = await Promise.all([generateCertificate(), generateCertificate()]);
    const a = await peer(one, 'alice', aliceCert);
    const b = await peer(two, 'bob', bobCert);
    // Bob's record in Redis carries what he registered at instance two's broker.
    const client = new Redis(redis!.url);
    closers.push(async () => void (await client.quit()));
    const record = await waitFor(
      async () => {
        const text = await client.hget(`t4:nodes:${CHANNEL.id.toString('hex')}`, 'bob');
        const r = text === null ? undefined : decodeRedisRecord(text);
        return r !== undefined && r.candidates.length > 0 ? r : undefined;
      },
      { what: "bob's record with his broker registration" },
    );
    assert.equal(record.fingerprint, fingerprintDigest(bobCert.fingerprint)?.toString('hex'));
    assert.ok(record.candidates.some((c) => c.kind === 'host' && c.address === '127.0.0.1'));
    await waitFor(async () => (await a.candidates(8)).some((c) => c.id === 'bob'), {
      what: 'bob offered to alice',
    });
    const accepted = b.punch.accept();
    const link = await a.punch.dial('bob');
    const other = await accepted;
    assert.equal(
      link.peerFingerprint,
      bobCert.fingerprint,
      "alice (instance one) was introduced to bob's certificate",
    );
    assert.equal(
      other.peerFingerprint,
      aliceCert.fingerprint,
      "bob (instance two) was introduced to alice's",
    );
    const [x, y] = await Promise.all([
      encryptLink(link, { handshakeTimeoutMs: 5000 }),
      encryptLink(other, { handshakeTimeoutMs: 5000 }),
    ]);
    assert.equal(x.peerCertificates[0]?.fingerprint256, bobCert.fingerprint);
    assert.equal(y.peerCertificates[0]?.fingerprint256, aliceCert.fingerprint);
    const got = new Promise<string>((resolve) => y.setReceiver((d) => resolve(Buffer.from(d).toString())));
    x.send(Buffer.from('sealed across two trackers'));
    assert.equal(await got, 'sealed across two trackers');
    await Promise.all([x.close(), y.close()]);
    await link.close();
    await other.close();
    assert.equal(one.stats().storeErrors + two.stats().storeErrors, 0);
  });

  it('a restarted instance loses no channel (Redis keeps them), key included', async () => {
    const first = await tracker('t2:');
    const port = first.address().port;
    const { demux, close } = await loopbackDemux();
    closers.push(close);
    const source = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port },
      demux,
      channelId: CHANNEL.id,
      peerId: 'source',
      role: 'source',
      signer: CHANNEL,
      retransmit: FAST,
    });
    await source.close();
    await first.close();
    const second = await tracker('t2:', port);
    const channels = second.swarm().channels;
    assert.equal(channels.length, 1);
    assert.equal(channels[0]?.id, CHANNEL.id.toString('hex'));
    assert.equal(channels[0]?.publicKey, CHANNEL.publicKey.toString('hex'));
    const viewer = await peer(second, 'viewer');
    assert.deepEqual(viewer.publicKey, CHANNEL.publicKey);
  });

  it('an instance learns a channel created at another one after it started (key included)', async () => {
    // Both instances run before the source joins one: the other learns the channel and its key
    // (it used to learn channels only when it started, so its peers were told "no key yet"), and
    // its own keyless record of the channel never overwrites the key in Redis.
    const one = await tracker('t3:');
    const two = await tracker('t3:');
    const early = await peer(two, 'early'); // two knows the channel, without a key, first
    assert.equal(early.publicKey, null);
    const { demux, close } = await loopbackDemux();
    closers.push(close);
    const source = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port: one.address().port },
      demux,
      channelId: CHANNEL.id,
      peerId: 'source',
      role: 'source',
      signer: CHANNEL,
      retransmit: FAST,
    });
    closers.push(() => source.close());
    await waitFor(() => two.swarm().channels[0]?.publicKey === CHANNEL.publicKey.toString('hex'), {
      what: 'instance two learning the key the source gave instance one',
    });
    const late = await peer(two, 'late');
    assert.deepEqual(late.publicKey, CHANNEL.publicKey);
    const third = await tracker('t3:');
    assert.equal(
      third.swarm().channels[0]?.publicKey,
      CHANNEL.publicKey.toString('hex'),
      'Redis kept the key',
    );
  });

  it('refuses a URL that is not redis:// and a Redis that does not answer, before binding', async () => {
    await assert.rejects(Tracker.listen({ port: 0, secret: SECRET, store: { redis: 'http://x' } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'store.redis',
    });
    await assert.rejects(
      Tracker.listen({ port: 0, secret: SECRET, store: { redis: 'redis://127.0.0.1:1' } }),
      { code: 'ERR_INVALID_OPTION', option: 'store.redis' },
    );
  });
});
