// The package as a new user meets it: in a checkout right after `npm install` (no build), the
// README's `npx porthole …` lines run (the bin runs the TypeScript source on the Node 24 that npx
// puts first on PATH); the tarball holds the bin and the LICENSE; without source and without a
// build the bin says what to do instead of a stack trace; a "module": "commonjs" TypeScript consumer
// resolves the types (typesVersions).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingTool } from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = (await missingTool('npx', 'npm')) ?? false;
const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('the porthole package', { skip }, () => {
  let clone: string;
  before(async () => {
    // A checkout after `npm install`: the tracked files the bin needs, the installed node_modules, no dist/.
    clone = await mkdtemp(join(tmpdir(), 'porthole-fresh-'));
    for (const entry of ['package.json', 'bin', 'src'])
      await cp(join(ROOT, entry), join(clone, entry), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  });
  after(async () => {
    if (clone !== undefined) await rm(clone, { recursive: true, force: true });
  });

  it('`npx porthole --version` and a README line work in a checkout without a build', async () => {
    const env = { ...process.env, npm_config_update_notifier: 'false' };
    const v = await run('npx', ['--offline', 'porthole', '--version'], { cwd: clone, env });
    assert.equal(v.stdout.trim(), version);
    const ports = await run(
      'npx',
      ['--offline', 'porthole', 'ports', '--range', '62520-62521', '--host', '127.0.0.1', '--json'],
      { cwd: clone, env },
    );
    assert.equal(JSON.parse(ports.stdout).size, 2);
  });

  it('without source or build the bin says what to do (exit 2, no trace)', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'porthole-bare-'));
    try {
      await cp(join(ROOT, 'bin'), join(bare, 'bin'), { recursive: true });
      await assert.rejects(
        run(process.execPath, [join(bare, 'bin', 'porthole.js'), '--version']),
        (error) => {
          const e = error as { code: number; stderr: string };
          assert.equal(e.code, 2);
          assert.match(e.stderr, /^porthole: cannot start: .*npm run build/);
          assert.doesNotMatch(e.stderr, /^\s+at /m);
          return true;
        },
      );
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('a TypeScript consumer with "module": "commonjs" resolves the types of every export', async () => {
    // The package as installed: its package.json and a dist/ with one declaration per layer.
    const consumer = await mkdtemp(join(tmpdir(), 'porthole-cjs-'));
    try {
      const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
        exports: Record<string, unknown>;
      };
      const layers = Object.keys(manifest.exports).map((k) => k.replace('./', ''));
      const pkg = join(consumer, 'node_modules', 'porthole');
      await mkdir(pkg, { recursive: true });
      await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'));
      for (const layer of layers) {
        await mkdir(join(pkg, 'dist', layer), { recursive: true });
        await writeFile(join(pkg, 'dist', layer, 'index.d.ts'), `export declare const layer: '${layer}';\n`);
      }
      await writeFile(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { module: 'commonjs', strict: true, noEmit: true, types: [] },
          files: ['a.ts'],
        }),
      );
      const lines = layers.map(
        (layer, i) =>
          `import { layer as l${i} } from 'porthole/${layer}';\nconst c${i}: '${layer}' = l${i};\nvoid c${i};`,
      );
      await writeFile(join(consumer, 'a.ts'), `${lines.join('\n')}\n`);
      await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    } finally {
      await rm(consumer, { recursive: true, force: true });
    }
  });

  it('the tarball has the bin, the LICENSE and the docs', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const needed of ['LICENSE', 'bin/porthole.js', 'package.json', 'README.md', 'docs/cli.md']) {
      assert.ok(files.includes(needed), `${needed} is packed (${files.length} files)`);
    }
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(manifest.bin.porthole, './bin/porthole.js');
  });
});
