// CLOSE: the authenticated end of a link (wire form and the agent's handling).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentCore,
  type AgentCoreOptions,
  decodePunch,
  encodePunch,
  encodePunchClose,
  LinkRole,
  PUNCH_CLOSE_BYTES,
  PUNCH_CLOSE_COPIES,
  verifyPunch,
} from '../../src/punch/index.ts';

const LINK = Buffer.from('0102030405060708', 'hex');
const SECRET = Buffer.alloc(32, 7);
const BOB = { address: '198.51.100.2', port: 4000 };

function agent(role: 0 | 1, extra: Partial<AgentCoreOptions> = {}): AgentCore {
  return new AgentCore({
    linkId: LINK,
    role,
    secret: SECRET,
    remoteCandidates: [{ kind: 'srflx', ...BOB }],
    prediction: false,
    ...extra,
  });
}

/** An initiator with a path to Bob (probe answered with a nominated reply). */
function connected(): AgentCore {
  const a = agent(LinkRole.INITIATOR);
  a.start(0);
  const probe = a.drain().find((x) => x.type === 'send');
  assert.ok(probe?.type === 'send');
  const sent = decodePunch(probe.data);
  assert.ok(sent.type === 1);
  const reply = (seq: number) =>
    encodePunch(
      { type: 2, flags: 0, linkId: LINK, sender: 1, seq, address: { address: '0.0.0.0', port: 1 } },
      SECRET,
    );
  a.receive(reply(sent.seq), BOB, 0, 1);
  const nominate = a.drain().find((x) => x.type === 'send');
  assert.ok(nominate?.type === 'send');
  const n = decodePunch(nominate.data);
  assert.ok(n.type === 1);
  a.receive(reply(n.seq), BOB, 0, 2);
  assert.equal(a.state, 'connected');
  a.drain();
  return a;
}

describe('punch CLOSE', () => {
  it('round-trips and is signed', () => {
    const bytes = encodePunchClose({ linkId: LINK, sender: 1, seq: 42 }, SECRET);
    assert.equal(bytes.length, PUNCH_CLOSE_BYTES);
    const frame = decodePunch(bytes);
    assert.ok(frame.type === 4);
    assert.equal(frame.sender, 1);
    assert.equal(frame.seq, 42);
    assert.deepEqual(frame.linkId, LINK);
    assert.equal(verifyPunch(frame, SECRET), true);
    assert.equal(verifyPunch(frame, Buffer.alloc(32, 8)), false);
    const flagged = Buffer.from(bytes);
    flagged[3] = 1;
    assert.throws(() => decodePunch(flagged), { code: 'ERR_PUNCH_FRAME_BAD_FIELD' });
    assert.throws(() => decodePunch(Buffer.concat([bytes, Buffer.from([0])])), {
      code: 'ERR_PUNCH_FRAME_TRAILING',
    });
  });

  it('closing a connected agent queues the CLOSE copies on its path', () => {
    const a = connected();
    a.close();
    const sends = a.drain().filter((x) => x.type === 'send');
    assert.equal(sends.length, PUNCH_CLOSE_COPIES);
    for (const s of sends) {
      assert.ok(s.type === 'send');
      assert.deepEqual(s.to, BOB);
      const f = decodePunch(s.data);
      assert.ok(f.type === 4 && f.sender === LinkRole.INITIATOR && verifyPunch(f, SECRET));
    }
    a.close();
    assert.equal(a.drain().length, 0, 'idempotent');
  });

  it('a closing agent without a path sends nothing', () => {
    const a = agent(LinkRole.INITIATOR);
    a.start(0);
    a.drain();
    a.close();
    assert.deepEqual(
      a.drain().filter((x) => x.type === 'send'),
      [],
    );
  });

  it("takes the peer's CLOSE, and only with the right HMAC and the peer's role", () => {
    const a = connected();
    a.receive(encodePunchClose({ linkId: LINK, sender: 1, seq: 9 }, Buffer.alloc(32, 1)), BOB, 0, 3);
    assert.equal(a.stats().badMac, 1);
    a.receive(encodePunchClose({ linkId: LINK, sender: 0, seq: 9 }, SECRET), BOB, 0, 3);
    assert.equal(a.stats().reflected, 1);
    const other = Buffer.from('ffffffffffffffff', 'hex');
    a.receive(encodePunchClose({ linkId: other, sender: 1, seq: 9 }, SECRET), BOB, 0, 3);
    assert.equal(a.stats().otherLink, 1);
    assert.equal(a.state, 'connected');
    assert.deepEqual(a.drain(), []);
    a.receive(
      encodePunchClose({ linkId: LINK, sender: 1, seq: 9 }, SECRET),
      { address: '0.0.0.0', port: 1 },
      0,
      4,
    );
    assert.equal(a.state, 'closed');
    assert.deepEqual(a.drain(), [{ type: 'closed-by-peer' }]);
    assert.equal(a.stats().remoteCloses, 1);
    assert.equal(a.nextWakeMs(), Number.POSITIVE_INFINITY);
  });

  it('a failed agent (on a relay) still takes the CLOSE', () => {
    const a = agent(LinkRole.RESPONDER, { punchTimeoutMs: 10 });
    a.start(0);
    a.poll(10);
    assert.equal(a.state, 'failed');
    a.drain();
    a.receive(encodePunchClose({ linkId: LINK, sender: 0, seq: 1 }, SECRET), BOB, 0, 20);
    assert.deepEqual(a.drain(), [{ type: 'closed-by-peer' }]);
  });
});

describe('agent options', () => {
  it('checks the prediction port range as ports (integers 1-65535, min <= max)', () => {
    for (const portRange of [
      { min: 0, max: 100 },
      { min: 1024, max: 70_000 },
      { min: 1024.5, max: 2000 },
    ]) {
      assert.throws(() => agent(0, { prediction: { portRange } }), {
        code: 'ERR_INVALID_OPTION',
        option: /^prediction\.portRange\.(min|max)$/,
      });
    }
    assert.throws(() => agent(0, { prediction: { portRange: { min: 3000, max: 2000 } } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'prediction.portRange',
    });
    assert.equal(agent(0, { prediction: { portRange: { min: 1, max: 65_535 } } }).state, 'punching');
  });
});
