// npm run bench -- <name> [--json] [bench-specific flags]
// Runs bench/<name>.ts in its own Node process so that benchmarks never share a heap or a JIT state.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [--json]\nbenchmarks: ${available.join(', ')}`);
  process.exit(name === undefined ? 1 : 0);
}
const file = join(here, `${name}.ts`);
if (!existsSync(file) || name.includes('/')) {
  console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--expose-gc', file, ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
