// The kept fuzz corpus (as pion keeps its corpus): every input a fuzzer ever broke is a file under
// test/vectors/fuzz/<decoder>/, replayed before the random phase of that fuzzer. A fuzzer that finds a
// new failing input writes it there itself (`keep`) and fails naming the file: commit the file with
// the fix. Files are hex, one input each; `#` starts a comment (the finding's seed and error).
// See test/vectors/fuzz/README.md.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS = join(ROOT, 'test', 'vectors', 'fuzz');

/** One kept input. */
export interface KeptInput {
  /** Its path relative to the repository. */
  readonly file: string;
  readonly data: Buffer;
}

/** The bytes of a corpus file: hex with `#` comments and whitespace ignored. */
export function parseCorpusFile(text: string): Buffer {
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error('a corpus file holds hex digits in pairs');
  return Buffer.from(hex, 'hex');
}

/** The kept corpus of one decoder (a folder name such as `stun` or `turn-channel-data`). */
export class FuzzCorpus {
  readonly decoder: string;
  readonly #dir: string;

  constructor(decoder: string, dir: string = join(CORPUS, decoder)) {
    if (!/^[a-z0-9-]+$/.test(decoder)) throw new Error(`corpus name ${decoder}: lower-case words and dashes`);
    this.decoder = decoder;
    this.#dir = dir;
  }

  /** Every kept input, in file-name order (none when the folder does not exist yet). */
  inputs(): KeptInput[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.hex'));
    } catch {
      return [];
    }
    return names.sort().map((name) => {
      const path = join(this.#dir, name);
      return { file: relative(ROOT, path), data: parseCorpusFile(readFileSync(path, 'utf8')) };
    });
  }

  /**
   * Runs `check` on every kept input; a throw is re-thrown naming the file (the fix regressed).
   * Returns how many inputs it replayed.
   */
  replay(check: (input: Buffer) => unknown): number {
    const kept = this.inputs();
    for (const { file, data } of kept) {
      try {
        check(data);
      } catch (error) {
        throw new Error(`kept fuzz input ${file} fails again: ${String(error)}`, { cause: error });
      }
    }
    return kept.length;
  }

  /**
   * Writes `input` to the corpus as `<first 16 hex digits of its SHA-256>.hex` with `note` (seed,
   * input number, error) as its comment, and returns the file's path relative to the repository.
   */
  keep(input: Buffer, note: string): string {
    mkdirSync(this.#dir, { recursive: true });
    const name = `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.hex`;
    const path = join(this.#dir, name);
    const comment = note
      .split('\n')
      .map((line) => `# ${line}`)
      .join('\n');
    const hex = input
      .toString('hex')
      .replace(/(.{64})/g, '$1\n')
      .trimEnd();
    writeFileSync(path, `${comment}\n${hex}\n`);
    return relative(ROOT, path);
  }

  /**
   * Runs `run` on one fuzzer input; when it throws, keeps the input (see {@link keep}) with `note()`
   * (seed and input number: called only then) and throws an error naming the kept file. Returns
   * what `run` returns.
   */
  check<T>(input: Buffer, run: (input: Buffer) => T, note: () => string): T {
    try {
      return run(input);
    } catch (error) {
      const what = note();
      const file = this.keep(input, `${what}: ${String(error).split('\n')[0]}`);
      throw new Error(`${what}: ${String(error)}\nkept as ${file}: commit it with the fix`, { cause: error });
    }
  }
}
