import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AbortError,
  ClosedError,
  ConfigError,
  ParseError,
  PortholeError,
  TimeoutError,
} from '../src/errors/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('errors', () => {
  it('every error code used in src/ is documented in docs/errors.md', () => {
    const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
    const missing = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
        if (!docs.includes(`\`${match[1]}\``)) missing.add(`${match[1]} (${file.slice(root.length)})`);
      }
    }
    assert.deepEqual([...missing], [], 'codes missing from docs/errors.md');
  });

  it('carries a stable code, a name per class, and ParseError its offset', () => {
    const cases: [PortholeError, string, string][] = [
      [new ConfigError('ERR_X', 'bad'), 'ConfigError', 'ERR_X'],
      [new ParseError('ERR_Y', 'short', 12), 'ParseError', 'ERR_Y'],
      [new TimeoutError('slow'), 'TimeoutError', 'ERR_TIMEOUT'],
      [new ClosedError('socket'), 'ClosedError', 'ERR_CLOSED'],
      [new AbortError('why'), 'AbortError', 'ERR_ABORTED'],
    ];
    for (const [error, name, code] of cases) {
      assert.ok(error instanceof PortholeError);
      assert.equal(error.name, name);
      assert.equal(error.code, code);
    }
    const parse = cases[1]![0] as ParseError;
    assert.equal(parse.offset, 12);
    assert.match(parse.message, /at byte 12/);
  });
});
