// Every ```ts example in docs/*.md is type-checked and run, as printed. Each block is written to a
// temporary folder inside the repository with `porthole/<layer>` mapped to src/<layer>/index.ts, the
// blocks are type-checked together by one tsc run (against the repository's tsconfig), and each is
// run by Node from the repository root with a timeout; it must exit with status 0.
//
// A marker comment right above a block's fence changes what is done with it (docs/architecture.md):
//   <!-- example: root — <why> -->          run only as root (skipped with the reason otherwise)
//   <!-- example: compile-only — <why>      type-checked, never run (a fragment, a server that runs
//   <declarations the fragment needs>        forever, a server outside this machine); lines after the
//   -->                                      first are prepended to the block for type-checking
// and a comment right below a block gives the lines it must print:
//   <!-- example prints:
//   <line>
//   -->
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from './support/leaks.ts';

checkLeaks();

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Longest run of one example, ms; a root example builds a NAT lab first. */
const RUN_TIMEOUT_MS = { run: 30_000, root: 180_000 } as const;

/** How a block is checked. */
type Mode = 'run' | 'root' | 'compile-only';

/** One ```ts block of a docs page. */
export interface DocExample {
  /** `docs/<page>.md:<line of the fence>`. */
  readonly where: string;
  readonly mode: Mode;
  /** Why the block is not simply run (from the marker), or ''. */
  readonly reason: string;
  /** Declarations prepended for type-checking (compile-only fragments). */
  readonly context: string;
  readonly code: string;
  /** Lines the run must print, or undefined when the page names none. */
  readonly prints: readonly string[] | undefined;
}

const MARKER = /^<!-- example: (root|compile-only) — ([^\n]*?)(?: -->)?$/;

/** The ```ts blocks of one page with their markers. Throws on a marker it cannot read. */
export function extractExamples(page: string, text: string): DocExample[] {
  const lines = text.split('\n');
  const examples: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```ts\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const indent = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== `${indent}\`\`\``; i++)
      body.push(lines[i]!.slice(indent.length));
    assert.ok(i < lines.length, `${page}:${start + 1}: the block never closes`);
    let mode: Mode = 'run';
    let reason = '';
    let context = '';
    // The marker: an HTML comment ending on the line above the fence.
    if (start > 0 && lines[start - 1]!.trim().endsWith('-->')) {
      let first = start - 1;
      while (first > 0 && !lines[first]!.trimStart().startsWith('<!--')) first--;
      const comment = lines.slice(first, start).map((l) => l.slice(indent.length));
      const head = MARKER.exec(comment[0]!);
      assert.ok(head !== null, `${page}:${first + 1}: a comment above a ts block is no example marker`);
      mode = head[1] as Mode;
      reason = head[2]!;
      context = comment.slice(1, -1).join('\n');
    }
    let prints: string[] | undefined;
    if (lines[i + 1]?.trim() === `<!-- example prints:`) {
      prints = [];
      let j = i + 2;
      for (; j < lines.length && lines[j]!.trim() !== '-->'; j++) prints.push(lines[j]!.slice(indent.length));
      i = j;
    }
    examples.push({ where: `${page}:${start + 1}`, mode, reason, context, code: body.join('\n'), prints });
  }
  return examples;
}

/**
 * Addresses in `code` that are not on this machine (nor in the NAT lab's namespaces): IPv4 literals
 * outside 127/8, 0.0.0.0 and the lab's 172.31/16, and host names. A block that names one must not
 * run (tests never send traffic off the machine): it has to be marked compile-only.
 */
export function outsideAddresses(code: string): string[] {
  const found: string[] = [];
  for (const [ip] of code.matchAll(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g)) {
    if (!/^(127\.|0\.0\.0\.0$|172\.31\.)/.test(ip)) found.push(ip);
  }
  for (const [, host] of code.matchAll(
    /['"`]([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev))(?::\d+)?['"`]/gi,
  )) {
    found.push(host!);
  }
  return found;
}

/** `code` with every `porthole/<layer>` import pointing at src/<layer>/index.ts from `fromDir`. */
function mapImports(code: string, srcFromDir: string): string {
  return code.replace(/(['"])porthole\/([a-z]+)\1/g, (_, quote: string, layer: string) => {
    return `${quote}${srcFromDir}/${layer}/index.ts${quote}`;
  });
}

const pages = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort();
const examples = pages.flatMap((page) =>
  extractExamples(`docs/${page}`, readFileSync(join(ROOT, 'docs', page), 'utf8')),
);

describe('docs examples', () => {
  let dir: string;
  /** Type errors per example file. */
  const errors = new Map<string, string[]>();
  const fileOf = (e: DocExample): string => `${e.where.replace(/[/.:]/g, '-')}.ts`;

  before(async () => {
    // Inside the repository, so node_modules/@types/node and ../src resolve as they do for tests.
    dir = mkdtempSync(join(ROOT, '.docs-examples-'));
    for (const e of examples) {
      const prefix = e.context === '' ? '' : `${e.context}\n`;
      writeFileSync(join(dir, fileOf(e)), mapImports(`${prefix}${e.code}\nexport {};\n`, '../src'));
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', include: ['*.ts'], compilerOptions: { noEmit: true } }),
    );
    const output = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
        (_error, stdout) => resolve(stdout),
      );
    });
    for (const line of output.split('\n')) {
      const m = /^([^(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
      if (m === null) continue;
      const file = m[1]!.split('/').at(-1)!;
      const list = errors.get(file) ?? [];
      list.push(`line ${m[2]} of the block file: ${m[4]}`);
      errors.set(file, list);
    }
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the examples of every guide', () => {
    assert.ok(examples.length >= 20, `${examples.length} examples`);
    for (const page of ['arq.md', 'mux.md', 'ports.md', 'server.md', 'stun.md', 'transport.md']) {
      assert.ok(
        examples.some((e) => e.where.startsWith(`docs/${page}`)),
        `docs/${page} has a ts example`,
      );
    }
  });

  const isRoot = process.getuid?.() === 0;
  for (const e of examples) {
    // A compile-only block is type-checked and nothing more: it gets no run test, so the only skip
    // left is a missing privilege.
    const skip = e.mode === 'root' && !isRoot ? `needs root: ${e.reason}` : false;
    it(`${e.where} type-checks`, () => {
      // Block file line n is docs line fence + n - (context lines).
      const fence = Number(e.where.split(':')[1]);
      const offset = e.context === '' ? 0 : e.context.split('\n').length;
      const found = (errors.get(fileOf(e)) ?? []).map((m) =>
        m.replace(
          /^line (\d+) of the block file/,
          (_, n: string) => `${e.where.split(':')[0]}:${fence + Number(n) - offset}`,
        ),
      );
      if (found.length > 0) assert.fail(`${e.where} does not type-check:\n${found.join('\n')}`);
    });
    if (e.mode === 'compile-only') continue;
    it(`${e.where} runs`, { skip }, async () => {
      const outside = outsideAddresses(e.code);
      assert.deepEqual(outside, [], `${e.where} names addresses off this machine: mark it compile-only`);
      const { code, stdout, stderr } = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>((resolve) => {
        execFile(
          process.execPath,
          [join(dir, fileOf(e))],
          { cwd: ROOT, timeout: RUN_TIMEOUT_MS[e.mode === 'root' ? 'root' : 'run'], killSignal: 'SIGKILL' },
          (error, out, err) => {
            const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
            resolve({ code: status, stdout: out, stderr: err });
          },
        );
      });
      assert.equal(code, 0, `${e.where} exited with ${code ?? 'a signal (timeout?)'}:\n${stderr}`);
      if (e.prints !== undefined) assert.deepEqual(stdout.trimEnd().split('\n'), e.prints);
    });
  }
});

describe('extractExamples', () => {
  it('reads blocks, markers, context and printed lines', () => {
    const page = [
      'text',
      '```ts',
      "console.log('a');",
      '```',
      '<!-- example prints:',
      'a',
      '-->',
      '<!-- example: compile-only — a fragment',
      'declare const x: number;',
      '-->',
      '```ts',
      'x + 1;',
      '```',
      '- item',
      '  <!-- example: root — builds namespaces -->',
      '  ```ts',
      '  lab();',
      '  ```',
    ].join('\n');
    assert.deepEqual(extractExamples('p.md', page), [
      { where: 'p.md:2', mode: 'run', reason: '', context: '', code: "console.log('a');", prints: ['a'] },
      {
        where: 'p.md:11',
        mode: 'compile-only',
        reason: 'a fragment',
        context: 'declare const x: number;',
        code: 'x + 1;',
        prints: undefined,
      },
      {
        where: 'p.md:16',
        mode: 'root',
        reason: 'builds namespaces',
        context: '',
        code: 'lab();',
        prints: undefined,
      },
    ]);
  });

  it('finds addresses off this machine', () => {
    const code =
      "connect('stun.example.org:3478'); bind('127.0.0.1'); to('203.0.113.7'); lab('172.31.0.3'); any('0.0.0.0');";
    assert.deepEqual(outsideAddresses(code), ['203.0.113.7', 'stun.example.org']);
  });

  it('refuses a comment above a block that is no marker', () => {
    assert.throws(() => extractExamples('p.md', '<!-- note -->\n```ts\nx;\n```'), /p\.md:1: a comment above/);
  });
});
