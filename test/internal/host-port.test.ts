import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHostPort, resolveHostPort } from '../../src/internal/host-port.ts';

const CODE = { option: 'server' } as const;
const INVALID = { code: 'ERR_INVALID_OPTION', option: 'server' } as const;

describe('internal/parseHostPort', () => {
  const good: [string, { host: string; port?: number }][] = [
    ['stun.example.org', { host: 'stun.example.org' }],
    ['stun.example.org:3479', { host: 'stun.example.org', port: 3479 }],
    ['198.51.100.1:1', { host: '198.51.100.1', port: 1 }],
    ['198.51.100.1:65535', { host: '198.51.100.1', port: 65535 }],
    ['2001:db8::1', { host: '2001:db8::1' }],
    ['::1', { host: '::1' }],
    ['[::1]', { host: '::1' }],
    ['[2001:db8::1]:19302', { host: '2001:db8::1', port: 19302 }],
  ];
  for (const [text, expected] of good) {
    it(`${text} parses`, () => assert.deepEqual(parseHostPort(text, CODE), expected));
  }
  const bad = [
    'host:0',
    'host:70000',
    'host:-1',
    'host:3478.5',
    'host:',
    ':3478',
    'host:port',
    'two words',
    '',
    '[]:1',
    'a:b:c',
    '[::1]:x',
  ];
  for (const text of bad) {
    it(`"${text}" → ERR_INVALID_OPTION`, () => assert.throws(() => parseHostPort(text, CODE), INVALID));
  }

  it('honours minPort and maxPort', () => {
    assert.deepEqual(parseHostPort('h:0', { ...CODE, minPort: 0 }), { host: 'h', port: 0 });
    assert.throws(() => parseHostPort('h:65535', { ...CODE, maxPort: 65534 }), INVALID);
  });
});

describe('internal/resolveHostPort', () => {
  const base = { ...CODE, defaultPort: 3478, unresolvedCode: 'ERR_UNRESOLVED' } as const;

  it('returns IP addresses without a lookup, with the default port when none is given', async () => {
    assert.deepEqual(await resolveHostPort('192.0.2.7', base), { address: '192.0.2.7', port: 3478 });
    assert.deepEqual(await resolveHostPort('[::1]:9', base), { address: '::1', port: 9 });
    assert.deepEqual(await resolveHostPort({ address: '192.0.2.8', port: 7 }, base), {
      address: '192.0.2.8',
      port: 7,
    });
  });

  it('resolves localhost to a loopback address of the family', async () => {
    const v4 = await resolveHostPort('localhost:5', base);
    assert.equal(v4.port, 5);
    assert.match(v4.address, /^127\./);
  });

  it('rejects a name that does not resolve with the unresolved code', async () => {
    await assert.rejects(resolveHostPort('no-such-host.invalid', base), { code: 'ERR_UNRESOLVED' });
  });

  it('rejects ERR_ABORTED for an aborted signal', async () => {
    await assert.rejects(resolveHostPort('localhost', { ...base, signal: AbortSignal.abort() }), {
      code: 'ERR_ABORTED',
    });
  });
});
