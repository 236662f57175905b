// The kept corpus: a failing fuzzer input is written as a file and replayed first the next time.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FuzzCorpus, parseCorpusFile } from './fuzz-corpus.ts';

describe('FuzzCorpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-corpus-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = new FuzzCorpus('demo', dir);
  const refuseFf = (input: Buffer): void => assert.ok(!input.includes(0xff), 'found 0xff');

  it('has no inputs before anything was kept', () => {
    assert.deepEqual(new FuzzCorpus('none', join(dir, 'missing')).inputs(), []);
    assert.equal(corpus.replay(refuseFf), 0);
  });

  it('keeps a failing input with its note and names the file in the error', () => {
    corpus.check(Buffer.from([1, 2]), refuseFf, () => 'never called');
    assert.throws(
      () => corpus.check(Buffer.from([1, 0xff]), refuseFf, () => 'seed 7, input 3'),
      /seed 7, input 3: AssertionError.*found 0xff\nkept as .*\.hex: commit it with the fix/s,
    );
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    const text = readFileSync(join(dir, files[0]!), 'utf8');
    assert.match(text, /^# seed 7, input 3: AssertionError/);
    assert.deepEqual(parseCorpusFile(text), Buffer.from([1, 0xff]));
  });

  it('replays the kept input first, and fails naming it while the bug is there', () => {
    assert.throws(() => corpus.replay(refuseFf), /kept fuzz input .*\.hex fails again/);
    assert.equal(
      corpus.replay(() => {}),
      1,
    );
  });

  it('reads hex with comments and whitespace, and refuses anything else', () => {
    assert.deepEqual(parseCorpusFile('# note\n01 ff\n0a # tail\n'), Buffer.from([1, 0xff, 0x0a]));
    assert.throws(() => parseCorpusFile('0g'), /hex digits in pairs/);
    assert.throws(() => parseCorpusFile('012'), /hex digits in pairs/);
  });
});
