import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  endpointKey,
  formatEndpoint,
  isWildcardAddress,
  sameEndpoint,
  wildcardAddress,
} from '../../src/internal/endpoint.ts';

describe('internal/endpoint', () => {
  it('formats IPv4 plainly and IPv6 in brackets; the key is the same text', () => {
    const cases = [
      [{ address: '192.0.2.1', port: 3478 }, '192.0.2.1:3478'],
      [{ address: '2001:db8::1', port: 5000 }, '[2001:db8::1]:5000'],
      [{ address: '::', port: 0 }, '[::]:0'],
    ] as const;
    for (const [endpoint, text] of cases) {
      assert.equal(formatEndpoint(endpoint), text);
      assert.equal(endpointKey(endpoint), text);
    }
  });

  it('sameEndpoint compares address and port (extra fields ignored)', () => {
    assert.equal(sameEndpoint({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 1 }), true);
    assert.equal(sameEndpoint({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 2 }), false);
    assert.equal(sameEndpoint({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 1 }), false);
    const info = { address: '10.0.0.1', port: 1, family: 'IPv4', size: 3 };
    assert.equal(sameEndpoint(info, { address: '10.0.0.1', port: 1 }), true);
  });

  it('names the wildcard of each family and recognises it', () => {
    assert.equal(wildcardAddress('udp4'), '0.0.0.0');
    assert.equal(wildcardAddress('udp6'), '::');
    for (const a of ['0.0.0.0', '::', '::0']) assert.equal(isWildcardAddress(a), true, a);
    for (const a of ['127.0.0.1', '::1', '', '0.0.0.1']) assert.equal(isWildcardAddress(a), false, a);
  });
});
