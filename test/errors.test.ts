import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  AbortError,
  ClosedError,
  ConfigError,
  ErrorCode,
  InvalidOptionError,
  InvalidStateError,
  ParseError,
  PortholeError,
  TimeoutError,
} from '../src/errors/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CODE = /^ERR_[A-Z0-9_]+$/;
/** Codes of Node.js that the docs name (what a stream throws after `destroy()`), not porthole's. */
const NODE_CODES = new Set(['ERR_STREAM_DESTROYED']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** A string literal whose whole text is an error code, and where it sits. */
interface CodeLiteral {
  readonly code: string;
  readonly where: string;
  /** Name of the exported `…ErrorCode`/`…Code` table it is a property value of, if any. */
  readonly table: string | undefined;
  /** The property key in that table. */
  readonly key: string | undefined;
}

/** The `export const Xxx = { KEY: 'ERR_…' } as const` table a literal is a value of, if any. */
function tableOf(node: ts.Node): { table: string; key: string } | undefined {
  const property = node.parent;
  if (!ts.isPropertyAssignment(property) || property.initializer !== node) return undefined;
  let object: ts.Node = property.parent;
  if (!ts.isObjectLiteralExpression(object)) return undefined;
  let up: ts.Node = object.parent;
  while (ts.isAsExpression(up) || ts.isSatisfiesExpression(up) || ts.isParenthesizedExpression(up)) {
    object = up;
    up = up.parent;
  }
  if (!ts.isVariableDeclaration(up) || up.initializer !== object || !ts.isIdentifier(up.name))
    return undefined;
  const statement = up.parent.parent;
  const exported =
    ts.isVariableStatement(statement) &&
    (statement.modifiers ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword) &&
    (up.parent.flags & ts.NodeFlags.Const) !== 0;
  if (!exported || !/(ErrorCode|Code)$/.test(up.name.text)) return undefined;
  return { table: up.name.text, key: property.name.getText() };
}

/** Every code literal in src/, with the table it belongs to. */
function codeLiterals(): CodeLiteral[] {
  const out: CodeLiteral[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CODE.test(node.text)) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        const table = tableOf(node);
        out.push({
          code: node.text,
          where: `${relative(root, file)}:${line + 1}`,
          table: table?.table,
          key: table?.key,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

const literals = codeLiterals();
/** Code → the table entries that define it. */
const defined = new Map<string, CodeLiteral[]>();
for (const literal of literals) {
  if (literal.table === undefined) continue;
  defined.set(literal.code, [...(defined.get(literal.code) ?? []), literal]);
}
const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const documented = new Set([...docs.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!));

describe('errors: one vocabulary', () => {
  it('no code is a string literal at a throw site: every code literal in src/ is a value of a code table', () => {
    const loose = literals.filter((l) => l.table === undefined).map((l) => `${l.code} at ${l.where}`);
    assert.deepEqual(loose, [], 'name the constant (ErrorCode.X, <Layer>ErrorCode.X) instead');
  });

  it('each code is defined once, and the shared codes only in ErrorCode', () => {
    const twice = [...defined]
      .filter(([, entries]) => entries.length > 1)
      .map(([code, entries]) => `${code}: ${entries.map((e) => `${e.table} (${e.where})`).join(', ')}`);
    assert.deepEqual(twice, []);
    for (const code of Object.values(ErrorCode)) {
      assert.equal(defined.get(code)?.[0]?.table, 'ErrorCode', code);
    }
  });

  it('every code defined in src/ is documented in docs/errors.md', () => {
    const missing = [...defined.keys()].filter((code) => !documented.has(code));
    assert.deepEqual(missing, [], 'codes missing from docs/errors.md');
  });

  it('every code docs/errors.md lists is one src/ defines and uses', () => {
    const unknown = [...documented].filter((code) => !defined.has(code) && !NODE_CODES.has(code));
    assert.deepEqual(unknown, [], 'docs/errors.md lists codes nothing defines');
    // Used: some file names the table entry (`Table.KEY`) besides its definition.
    const all = sourceFiles(join(root, 'src'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unused = [...defined.values()]
      .flat()
      .filter((entry) => !all.includes(`${entry.table}.${entry.key}`))
      .map((entry) => `${entry.table}.${entry.key} (${entry.code})`);
    assert.deepEqual(unused, [], 'codes defined but never thrown: drop them from the table and the docs');
  });

  it('an invalid option is never a bare ConfigError: InvalidOptionError carries the option name', () => {
    const bare: string[] = [];
    for (const file of sourceFiles(join(root, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/new (ConfigError|PortholeError)\(\s*\w*\.INVALID_(OPTION|STATE)\b/.test(line)) {
            bare.push(`${relative(root, file)}:${i + 1}`);
          }
        });
    }
    assert.deepEqual(bare, [], 'use InvalidOptionError(option, message) / InvalidStateError(message)');
  });

  it('each layer\'s section of docs/errors.md is its layer doc\'s "## Errors" section', () => {
    const sections = [
      ...docs.matchAll(/^## (\S+)\n\nFrom \[(\S+)\.md\]\(\S+\.md\)\.\n\n([\s\S]*?)(?=\n## |\s*$)/gm),
    ];
    assert.ok(sections.length >= 10, `found ${sections.length} assembled sections`);
    for (const [, name, doc, body] of sections) {
      const layer = readFileSync(join(root, 'docs', `${doc}.md`), 'utf8');
      const own = /^## Errors\n\n([\s\S]*?)(?=\n## |\s*$)/m.exec(layer);
      assert.ok(own !== null, `docs/${doc}.md has an "## Errors" section`);
      assert.equal(body!.trim(), own[1]!.trim(), `docs/errors.md "## ${name}" = docs/${doc}.md "## Errors"`);
    }
  });
});

describe('errors: classes', () => {
  it('carries a stable code, a name per class, and ParseError its offset', () => {
    const cases: [PortholeError, string, string][] = [
      [new ConfigError('ERR_X', 'bad'), 'ConfigError', 'ERR_X'],
      [new ParseError('ERR_Y', 'short', 12), 'ParseError', 'ERR_Y'],
      [new TimeoutError('slow'), 'TimeoutError', 'ERR_TIMEOUT'],
      [new ClosedError('socket'), 'ClosedError', 'ERR_CLOSED'],
      [new AbortError('why'), 'AbortError', 'ERR_ABORTED'],
      [
        new InvalidOptionError('maxPeers', 'maxPeers must be > 0'),
        'InvalidOptionError',
        'ERR_INVALID_OPTION',
      ],
      [new InvalidStateError('not open yet'), 'InvalidStateError', 'ERR_INVALID_STATE'],
    ];
    for (const [error, name, code] of cases) {
      assert.ok(error instanceof PortholeError);
      assert.equal(error.name, name);
      assert.equal(error.code, code);
    }
    const parse = cases[1]![0] as ParseError;
    assert.equal(parse.offset, 12);
    assert.match(parse.message, /at byte 12/);
    const option = cases[5]![0] as InvalidOptionError;
    assert.equal(option.option, 'maxPeers');
    assert.ok(option instanceof ConfigError, 'an invalid option is a ConfigError');
    assert.ok(!(cases[6]![0] instanceof ConfigError), 'a state error is not a ConfigError');
  });

  it('instanceof holds across two copies of the errors module (the Symbol.for brand)', async () => {
    const url = new URL('../src/errors/index.ts', import.meta.url);
    const a = (await import(`${url.href}?copy=a`)) as typeof import('../src/errors/index.ts');
    const b = (await import(`${url.href}?copy=b`)) as typeof import('../src/errors/index.ts');
    assert.notEqual(a.PortholeError, b.PortholeError, 'two module instances');
    const fromB = new b.InvalidOptionError('port', 'port must be 0-65535');
    assert.ok(fromB instanceof a.PortholeError);
    assert.ok(fromB instanceof a.ConfigError);
    assert.ok(fromB instanceof a.InvalidOptionError);
    assert.ok(fromB instanceof PortholeError, 'and the copy this test imported statically');
    assert.ok(!(fromB instanceof a.TimeoutError), 'a brand is not a wildcard: other classes do not match');
    assert.ok(!(fromB instanceof a.InvalidStateError));
    assert.ok(!(fromB instanceof a.ParseError));
    assert.ok(
      !(new b.ConfigError('ERR_X', 'x') instanceof a.InvalidOptionError),
      'a base is not its subclass',
    );
    assert.ok(new b.TimeoutError('slow') instanceof a.TimeoutError);
    assert.ok(new b.AbortError() instanceof a.PortholeError);
    assert.ok(!(new Error('plain') instanceof a.PortholeError), 'an unbranded Error is not one');
    assert.ok(!(Object.create(null) instanceof a.PortholeError));
    const fake = Object.assign(new Error('fake'), { code: 'ERR_INVALID_OPTION', name: 'PortholeError' });
    assert.ok(!(fake instanceof a.PortholeError), 'a look-alike without the brand is not one');
  });
});
