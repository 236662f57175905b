// `porthole connect` through the NAT lab's hardest pair that punches: port-restricted ↔ symmetric
// (port prediction). A `porthole broker` on the lab's rendezvous address, one `porthole connect` on
// each NAT host: 20 MB one way and 2 MB the other arrive byte for byte (cmp), both exit 0, and the
// path is `predicted`. Root only (CI runs as root).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkLabSupport, INTERNET_ADDRESSES, NatLab, readJsonLine } from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { mulberry32, randomBytesFrom, testSeed } from '../support/prng.ts';
import { exited, MAIN, withFiles } from './cli.ts';

checkLeaks();

const run = promisify(execFile);
const support = await checkLabSupport();
const skip = support.supported ? false : support.reason;
const BROKER = `${INTERNET_ADDRESSES.rendezvous}:3478`;

describe('porthole connect in the NAT lab', { skip }, () => {
  let lab: NatLab;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'porthole-cli-lab-'));
    lab = await NatLab.create({ nats: ['pr', 'sym'] });
    const broker = lab.spawnNode('inet', MAIN, [
      'broker',
      '--listen',
      BROKER,
      '--allow-any',
      '--stats',
      '0',
      '--json',
    ]);
    await readJsonLine(broker, (v) => 'listening' in v, { timeoutMs: 240_000 });
  });
  after(async () => {
    await lab?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** `porthole connect` on `host` with stdin from `input` and stdout into `output`. */
  function side(host: 'h-pr' | 'h-sym', args: readonly string[], input: string, output: string) {
    const argv = [
      'connect',
      '--broker',
      BROKER,
      '--json',
      '--timeout',
      '240000',
      '--peer-timeout',
      '60000',
      ...args,
    ];
    return exited(withFiles(input, output, (stdio) => lab.spawnNode(host, MAIN, argv, { stdio })));
  }

  it('port-restricted ↔ symmetric: 20 MB and 2 MB byte for byte over a predicted path', async () => {
    const random = mulberry32(testSeed(1111));
    const big = join(dir, 'big');
    const small = join(dir, 'small');
    await writeFile(big, randomBytesFrom(random, 20_000_000));
    await writeFile(small, randomBytesFrom(random, 2_000_000));
    const [pr, sym] = await Promise.all([
      side(
        'h-pr',
        ['--id', 'pr', '--peer', 'sym', '--nat-class', 'port-restricted'],
        big,
        join(dir, 'pr.out'),
      ),
      side('h-sym', ['--id', 'sym', '--peer', 'pr', '--nat-class', 'symmetric'], small, join(dir, 'sym.out')),
    ]);
    assert.equal(pr.code, 0, pr.stderr);
    assert.equal(sym.code, 0, sym.stderr);
    await run('cmp', [big, join(dir, 'sym.out')]);
    await run('cmp', [small, join(dir, 'pr.out')]);
    for (const side of [pr, sym]) {
      const status = JSON.parse(side.stderr.split('\n').find((l) => l.startsWith('{')) ?? '{}');
      assert.equal(status.path, 'predicted', side.stderr);
    }
  });
});
