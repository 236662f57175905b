// `porthole stun-server --listen A:3490 --alt B:3491` is an RFC 5780 server for other tools too:
// coturn's turnutils_natdiscovery, from behind the NAT lab's symmetric NAT, finds Address and Port
// Dependent Mapping and Filtering against it (before the fix it bound A:3490 A:3491 B:3491 B:3492,
// test II went to B:3490 where nothing listened, and the verdict was Endpoint Independent Mapping).
// Ports other than 3478/3479 on purpose. Root only (CI runs as root).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkLabSupport, missingTool, NatLab, readJsonLine } from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { MAIN } from './cli.ts';

checkLeaks();

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) skip = (await missingTool('turnutils_natdiscovery', 'coturn')) ?? false;

describe('porthole stun-server in the NAT lab', { skip }, () => {
  let lab: NatLab;
  before(async () => {
    lab = await NatLab.create({ nats: ['sym'] });
    const { stunPrimary: a, stunAlternate: b } = lab.internet;
    const server = lab.spawnNode('inet', MAIN, [
      'stun-server',
      '--listen',
      `${a}:3490`,
      '--alt',
      `${b}:3491`,
      '--stats-interval',
      '0',
      '--no-rate-limit',
      '--json',
    ]);
    const started = await readJsonLine<{ addresses: string[] }>(server, (v) => 'listening' in v, {
      timeoutMs: 240_000,
    });
    assert.deepEqual(started.addresses, [`${a}:3490`, `${a}:3491`, `${b}:3490`, `${b}:3491`]);
  });
  after(async () => {
    await lab?.close();
  });

  it('turnutils_natdiscovery -m -f -p 3490 through the symmetric NAT: APDM and APDF', async () => {
    const { stdout } = await lab.exec(
      'h-sym',
      'turnutils_natdiscovery',
      ['-m', '-f', '-p', '3490', lab.internet.stunPrimary],
      { timeoutMs: 240_000 },
    );
    assert.match(stdout, /NAT with Address and Port Dependent Mapping!/);
    assert.doesNotMatch(stdout, /Endpoint Independent Mapping/);
    assert.match(stdout, /NAT with Address and Port Dependent Filtering!/);
    assert.match(stdout, /Other addr: : 172\.31\.0\.2:3491/);
  });
});
