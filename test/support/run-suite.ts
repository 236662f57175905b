// The suite runner behind `npm test` (test:unit): every test/**/*.test.ts with node:test, in two
// passes. First every file without the serial marker, two files at a time; then the files that
// carry the marker — a line starting with `// porthole:test-serial` — one at a time, alone on the
// machine. Those start swarms of real processes (20 peers, two edges, ffmpeg; a NAT lab of eight
// peers; Chromium) whose figures are what a starved machine changes: on 2 cores, one of them beside
// another heavy file turned a passing run into a failing one (CI, 2026-12-02). Arguments are passed
// on to both `node --test` runs (e.g. --test-reporter=spec); the exit code is the first failure's.
import { spawnSync } from 'node:child_process';
import { globSync, readFileSync } from 'node:fs';

const MARKER = /^\/\/ porthole:test-serial\b/m;
const files = globSync('test/**/*.test.ts').sort();
const serial = files.filter((f) => MARKER.test(readFileSync(f, 'utf8')));
const parallel = files.filter((f) => !serial.includes(f));
const extra = process.argv.slice(2);

function run(concurrency: number, list: readonly string[]): number {
  if (list.length === 0) return 0;
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...extra, ...list];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.error !== undefined) {
    console.error(`run-suite: could not start node: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}

console.error(`run-suite: ${parallel.length} files two at a time, then ${serial.length} alone`);
const first = run(2, parallel);
const second = run(1, serial);
process.exit(first !== 0 ? first : second);
