// The shared leak check fails a file that leaves a socket, a timer or a child process open, and
// passes one that closes what it opened (even when the close completes after the last test).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from './leaks.ts';

checkLeaks();

const fixture = fileURLToPath(new URL('./fixtures/leak.ts', import.meta.url));

function runFixture(kind: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--test', '--test-reporter=spec', fixture],
      // Without the runner's NODE_TEST_CONTEXT the child runs and reports as `node --test` on its own.
      { timeout: 30_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined, LEAK_FIXTURE: kind } },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? -1),
          output: stdout + stderr,
        });
      },
    );
  });
}

describe('checkLeaks', () => {
  for (const [kind, type] of [
    ['udp', 'UDPWrap'],
    ['timer', 'Timeout'],
    ['child', 'ProcessWrap'],
  ] as const) {
    it(`fails a file that leaves a ${kind} open, naming ${type}`, async () => {
      const { code, output } = await runFixture(kind);
      assert.equal(code, 1, output);
      assert.match(
        output,
        new RegExp(`leak.ts: left open after the file's tests \\(200 ms grace\\): 1 ${type}`),
      );
    });
  }
  for (const kind of ['nothing', 'closing-udp']) {
    it(`passes a file that leaves nothing open (${kind})`, async () => {
      const { code, output } = await runFixture(kind);
      assert.equal(code, 0, output);
    });
  }
});
