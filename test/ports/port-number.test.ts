// Every port the API takes is an integer 0-65535: Node would wrap 70000 to 4464, -1 to 65535 and
// truncate 3478.9 to 3478, and a bind error would then name a port the user never gave.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindUdpSocket, validatePort } from '../../src/ports/index.ts';
import { StunServer } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const BAD = [70_000, -1, 3478.9, 65_536, Number.NaN, Number.POSITIVE_INFINITY, '3478' as unknown as number];

describe('port numbers', () => {
  it('validatePort takes 0-65535 integers and names the option otherwise', () => {
    for (const port of [0, 1, 3478, 65_535]) assert.equal(validatePort(port, 'port'), port);
    assert.throws(() => validatePort(0, 'server.port', 1), {
      code: 'ERR_INVALID_OPTION',
      option: 'server.port',
    });
    for (const port of BAD) {
      assert.throws(() => validatePort(port, 'listen.port'), {
        code: 'ERR_INVALID_OPTION',
        option: 'listen.port',
        message: /^listen\.port must be an integer port 0–65535/,
      });
    }
  });

  it('bindUdpSocket rejects before binding anything', async () => {
    let created = 0;
    for (const port of BAD) {
      await assert.rejects(
        bindUdpSocket({
          family: 'udp4',
          address: '127.0.0.1',
          port,
          createSocket: (() => {
            created++;
            throw new Error('not reached');
          }) as never,
        }),
        { code: 'ERR_INVALID_OPTION', option: 'port' },
      );
    }
    assert.equal(created, 0, 'no socket was made');
  });

  it('StunServer.listen rejects a bad primary or alternate port', async () => {
    for (const port of [70_000, -1, 3478.9]) {
      await assert.rejects(StunServer.listen({ listen: { address: '127.0.0.1', port } }), {
        code: 'ERR_INVALID_OPTION',
        option: 'listen.port',
      });
      await assert.rejects(
        StunServer.listen({
          listen: { address: '127.0.0.1', port: 0 },
          alternate: { address: '127.0.0.2', port },
        }),
        { code: 'ERR_INVALID_OPTION', option: 'alternate.port' },
      );
    }
  });
});
