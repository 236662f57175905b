import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { holdPorts } from '../ports/helpers.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

// Ports 62500-62519 belong to this file.
describe('porthole ports', () => {
  it('reports free ports, ports held by another process and free pairs (--json)', async () => {
    const holder = await holdPorts([62502, 62507]);
    try {
      const { stdout } = await run(process.execPath, [
        main,
        'ports',
        '--range',
        '62500-62509',
        '--host',
        '127.0.0.1',
        '--json',
      ]);
      const survey = JSON.parse(stdout);
      assert.deepEqual(survey.range, { first: 62500, last: 62509 });
      assert.deepEqual(survey.foreign, [62502, 62507]);
      assert.equal(survey.freeCount, 8);
      assert.equal(survey.totalPairs, 5);
      assert.deepEqual(survey.freePairList, [62500, 62504, 62508]);
      assert.equal(survey.freePairs, 3);
      assert.ok(survey.advice.some((a: string) => a.includes('held by other processes')));
    } finally {
      await holder.stop();
    }
  });

  it('prints a readable report with advice, and --help', async () => {
    const { stdout } = await run(process.execPath, [
      main,
      'ports',
      '--range',
      '62510-62519',
      '--host',
      '127.0.0.1',
      '--pairs',
    ]);
    assert.match(stdout, /UDP 62510-62519 on 127\.0\.0\.1 \(udp4\): 10 ports/);
    assert.match(stdout, /free even\/odd pairs\s+5 of 5/);
    assert.match(stdout, /free pairs \(P, P\+1\)\s+62510-62518/);
    const help = await run(process.execPath, [main, 'ports', '--help']);
    assert.match(help.stdout, /--range <first-last>/);
  });

  it('fails with a clear message on a bad range', async () => {
    await assert.rejects(
      run(process.execPath, [main, 'ports', '--range', '9-1']),
      (error: { stderr: string }) => {
        assert.match(error.stderr, /ERR_INVALID_OPTION|reversed/);
        return true;
      },
    );
  });
});
