// The two-peer example in docs/arq.md runs as printed (imports mapped to src/).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const run = promisify(execFile);
const src = fileURLToPath(new URL('../../src/', import.meta.url));

it('docs/arq.md two-peer example prints the documented lines and exits', async (t) => {
  const doc = await readFile(new URL('../../docs/arq.md', import.meta.url), 'utf8');
  const code = /## Two peers\n\n```ts\n([\s\S]*?)\n```/.exec(doc)?.[1];
  assert.ok(code, 'example block found');
  const mapped = code.replace(
    /'porthole\/(\w+)'/g,
    (_, layer: string) => `'${join(src, layer, 'index.ts')}'`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'porthole-arq-doc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'example.ts');
  await writeFile(file, mapped);
  const { stdout } = await run(process.execPath, [file], { timeout: 20_000 });
  assert.deepEqual(stdout.trim().split('\n'), [
    'bob got conv 0: hello',
    'bob got conv 0: bye',
    'alice got: ack hello',
    'alice got: ack bye',
  ]);
});
