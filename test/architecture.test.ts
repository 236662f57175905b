// The layer rules of docs/architecture.md, checked on every import in src/: no import cycle (between
// files or between layers), no layer importing one above it or beside it, no deep import into
// another layer (only `../<layer>/index.ts`; src/internal excepted), and package.json's exports map
// exactly the layers' index.ts files. Each rule is also shown to fire on a small synthetic tree.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

/**
 * The layer order, lowest first. A layer may import the layers of lower rows only (never one of its
 * own row: the layers of one row are independent). A new layer is one entry here; a row may name
 * layers that do not exist yet. `internal` is special: every layer may import any of its files and it
 * imports no layer but `errors` (its helpers throw porthole's errors); `errors` imports nothing. `cli` imports `lab` (the `porthole lab` command), so `lab` sits below it. `dtls` sits below `transport`, `server` and `punch` so that each of them can offer DTLS (UdpServer({ dtls }), MediaTransport's single-socket DTLS, PunchLink encryption).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors'],
  ['internal'],
  ['ports', 'mux'],
  ['dtls'],
  ['transport', 'server', 'stun'],
  ['nat', 'turn'],
  ['punch', 'arq'],
  ['rist'],
  ['live'],
  ['lab'],
  ['cli'],
];

/** The layer that any layer may import by any path, and that imports none but {@link ERRORS}. */
const INTERNAL = 'internal';
/** The one layer {@link INTERNAL} imports (through its index.ts). */
const ERRORS = 'errors';
/** Layers that are programs, not library faces: no index.ts, no exports entry. */
const PROGRAMS: ReadonlySet<string> = new Set(['cli']);

/** Rank of each layer: its row in {@link LAYERS}. */
const RANK: ReadonlyMap<string, number> = new Map(LAYERS.flatMap((row, rank) => row.map((l) => [l, rank])));

/** One relative import of one file (paths relative to src/, posix separators). */
interface ImportEdge {
  readonly from: string;
  readonly specifier: string;
  /** The imported file relative to src/, or undefined for a bare or `node:` specifier. */
  readonly to: string | undefined;
}

/**
 * Every module specifier of one source text: `import`, `import type`, `export … from` (also
 * `export * as`), `import x = require()`, dynamic `import()`, `require()` and `typeof import()`.
 */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined
    ) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const ref = node.moduleReference.expression;
      if (ts.isStringLiteral(ref)) found.push(ref.text);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isLoad =
        callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
      const first = node.arguments[0];
      if (isLoad && first !== undefined && ts.isStringLiteralLike(first)) found.push(first.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push(literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return found;
}

function layerOf(path: string): string {
  return path.split('/')[0]!;
}

function edgesOf(files: ReadonlyMap<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [from, text] of files) {
    for (const specifier of importsOf(text)) {
      const relativeImport = specifier.startsWith('./') || specifier.startsWith('../');
      const to = relativeImport ? posix.normalize(posix.join(posix.dirname(from), specifier)) : undefined;
      edges.push({ from, specifier, to });
    }
  }
  return edges;
}

/** Strongly connected components with more than one node (or a self-loop): Tarjan's algorithm. */
function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

function addEdge(graph: Map<string, Set<string>>, from: string, to: string): void {
  const out = graph.get(from);
  if (out === undefined) graph.set(from, new Set([to]));
  else out.add(to);
}

/**
 * Every violation of the layer rules in `files` (path relative to src/ → source text), each as one
 * line naming the file and the rule. `exports` is package.json's exports map, checked when given.
 */
export function checkArchitecture(
  files: ReadonlyMap<string, string>,
  exports?: Readonly<Record<string, unknown>>,
): string[] {
  const violations: string[] = [];
  const fileGraph = new Map<string, Set<string>>();
  const layerGraph = new Map<string, Set<string>>();
  const layers = new Set([...files.keys()].map(layerOf));

  for (const layer of [...layers].sort()) {
    if (!RANK.has(layer))
      violations.push(`src/${layer}/ is no layer of the order in test/architecture.test.ts`);
  }
  for (const { from, specifier, to } of edgesOf(files)) {
    if (to === undefined) continue;
    const where = `src/${from} imports '${specifier}'`;
    if (to.startsWith('../') || !to.includes('/')) {
      violations.push(`${where}: outside src/ layers`);
      continue;
    }
    if (!files.has(to)) {
      violations.push(`${where}: no such file`);
      continue;
    }
    addEdge(fileGraph, from, to);
    const source = layerOf(from);
    const target = layerOf(to);
    if (source === target) continue;
    addEdge(layerGraph, source, target);
    if (source === INTERNAL && target !== ERRORS) {
      violations.push(`${where}: src/internal imports no layer but errors`);
      continue;
    }
    if (target === INTERNAL && source !== ERRORS) continue;
    const sourceRank = RANK.get(source);
    const targetRank = RANK.get(target);
    if (sourceRank !== undefined && targetRank !== undefined && targetRank >= sourceRank) {
      const relation = targetRank === sourceRank ? 'beside it (same row)' : 'above it';
      violations.push(`${where}: ${source} may not import ${target}, a layer ${relation}`);
    }
    if (to !== `${target}/index.ts` && target !== INTERNAL) {
      violations.push(`${where}: deep import into ${target}; import '../${target}/index.ts'`);
    }
  }
  for (const cycle of cyclesOf(fileGraph)) violations.push(`import cycle between files: ${cycle.join(', ')}`);
  for (const cycle of cyclesOf(layerGraph))
    violations.push(`import cycle between layers: ${cycle.join(', ')}`);

  if (exports !== undefined) {
    const faces = [...layers].filter((l) => l !== INTERNAL && !PROGRAMS.has(l) && files.has(`${l}/index.ts`));
    for (const layer of [...layers].sort()) {
      if (layer !== INTERNAL && !PROGRAMS.has(layer) && !files.has(`${layer}/index.ts`)) {
        violations.push(`src/${layer}/ has no index.ts (its public face)`);
      }
    }
    const expected = new Map(
      faces.map((l) => [`./${l}`, { types: `./dist/${l}/index.d.ts`, default: `./dist/${l}/index.js` }]),
    );
    for (const [key, target] of Object.entries(exports)) {
      const want = expected.get(key);
      if (want === undefined) {
        violations.push(`package.json exports '${key}', which is no layer's index.ts`);
      } else if (JSON.stringify(target) !== JSON.stringify(want)) {
        violations.push(
          `package.json exports '${key}' as ${JSON.stringify(target)}; want ${JSON.stringify(want)}`,
        );
      }
    }
    for (const key of expected.keys()) {
      if (!(key in exports)) violations.push(`package.json has no exports entry '${key}'`);
    }
  }
  return violations;
}

/** Every .ts file under `dir`, keyed by its path relative to `dir` (posix separators). */
function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8'));
  }
  return files;
}

const ROOT = new URL('..', import.meta.url).pathname;

describe('architecture of src/', () => {
  it('keeps every layer rule', () => {
    const files = readTree(join(ROOT, 'src'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    assert.ok(files.size > 100, `read ${files.size} files from src/`);
    assert.deepEqual(checkArchitecture(files, pkg.exports), []);
  });

  it('sees the imports it checks (a file of each kind of import)', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b/index.ts';",
      "export { c } from './c.ts';",
      "export * as d from './d.ts';",
      "const e = await import('./e.ts');",
      "import './f.ts';",
      "type G = typeof import('./g.ts');",
      "import h = require('./h.ts');",
      "// import { i } from './i.ts';",
      'const j = \'import x from "./j.ts"\';',
    ].join('\n');
    assert.deepEqual(importsOf(text), [
      './a.ts',
      '../b/index.ts',
      './c.ts',
      './d.ts',
      './e.ts',
      './f.ts',
      './g.ts',
      './h.ts',
    ]);
  });
});

describe('checkArchitecture on a synthetic tree', () => {
  const exportsOf = (...layers: string[]): Record<string, unknown> =>
    Object.fromEntries(
      layers.map((l) => [`./${l}`, { types: `./dist/${l}/index.d.ts`, default: `./dist/${l}/index.js` }]),
    );
  const tree = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));
  const clean = {
    'internal/endpoint.ts':
      "import { isIP } from 'node:net';\nimport '../errors/index.ts';\nexport const x = isIP;",
    'errors/index.ts': 'export class PortholeError extends Error {}',
    'ports/index.ts': "export { p } from './pool.ts';",
    'ports/pool.ts':
      "import { x } from '../internal/endpoint.ts';\nimport '../errors/index.ts';\nexport const p = x;",
    'mux/index.ts': "import '../errors/index.ts';",
    'stun/index.ts': "import '../mux/index.ts';\nimport '../ports/index.ts';",
    'cli/main.ts':
      "import '../stun/index.ts';\nimport '../lab/index.ts';\nimport { Command } from 'commander';",
    'lab/index.ts': "import '../errors/index.ts';",
  };
  const cleanExports = exportsOf('errors', 'ports', 'mux', 'stun', 'lab');

  it('passes a tree that keeps the rules', () => {
    assert.deepEqual(checkArchitecture(tree(clean), cleanExports), []);
  });

  const cases: {
    name: string;
    change: Record<string, string>;
    exports?: Record<string, unknown>;
    want: string[];
  }[] = [
    {
      name: 'an import cycle between files of one layer',
      change: { 'ports/pool.ts': "import './lease.ts';", 'ports/lease.ts': "import './pool.ts';" },
      want: ['import cycle between files: ports/lease.ts, ports/pool.ts'],
    },
    {
      name: 'a file importing itself',
      change: { 'ports/pool.ts': "import './pool.ts';" },
      want: ['import cycle between files: ports/pool.ts'],
    },
    {
      name: 'a lower layer importing an upper one',
      change: { 'mux/index.ts': "import '../stun/index.ts';" },
      want: [
        "src/mux/index.ts imports '../stun/index.ts': mux may not import stun, a layer above it",
        'import cycle between files: mux/index.ts, stun/index.ts',
        'import cycle between layers: mux, stun',
      ],
    },
    {
      name: 'a layer importing one beside it',
      change: { 'mux/index.ts': "export type { P } from '../ports/index.ts';" },
      want: [
        "src/mux/index.ts imports '../ports/index.ts': mux may not import ports, a layer beside it (same row)",
      ],
    },
    {
      name: 'a dynamic import of an upper layer',
      change: { 'mux/index.ts': "import '../errors/index.ts';\nconst m = await import('../lab/index.ts');" },
      want: ["src/mux/index.ts imports '../lab/index.ts': mux may not import lab, a layer above it"],
    },
    {
      name: 'a deep import across layers',
      change: { 'stun/index.ts': "import '../ports/pool.ts';\nimport '../mux/index.ts';" },
      want: [
        "src/stun/index.ts imports '../ports/pool.ts': deep import into ports; import '../ports/index.ts'",
      ],
    },
    {
      name: 'internal importing a layer other than errors',
      change: { 'internal/endpoint.ts': "import '../ports/index.ts';" },
      want: [
        "src/internal/endpoint.ts imports '../ports/index.ts': src/internal imports no layer but errors",
        'import cycle between files: internal/endpoint.ts, ports/index.ts, ports/pool.ts',
        'import cycle between layers: internal, ports',
      ],
    },
    {
      name: 'errors importing internal',
      change: { 'errors/index.ts': "import '../internal/endpoint.ts';" },
      want: [
        "src/errors/index.ts imports '../internal/endpoint.ts': errors may not import internal, a layer above it",
        'import cycle between files: errors/index.ts, internal/endpoint.ts',
        'import cycle between layers: errors, internal',
      ],
    },
    {
      name: 'errors importing a layer',
      change: { 'errors/index.ts': "import '../ports/index.ts';" },
      want: [
        "src/errors/index.ts imports '../ports/index.ts': errors may not import ports, a layer above it",
        'import cycle between files: errors/index.ts, internal/endpoint.ts, ports/index.ts, ports/pool.ts',
        'import cycle between layers: errors, internal, ports',
      ],
    },
    {
      name: 'an import of a missing file',
      change: { 'ports/index.ts': "export { p } from './pol.ts';" },
      want: ["src/ports/index.ts imports './pol.ts': no such file"],
    },
    {
      name: 'a directory that is no layer',
      change: { 'misc/index.ts': "import '../errors/index.ts';" },
      exports: {
        ...cleanExports,
        './misc': { types: './dist/misc/index.d.ts', default: './dist/misc/index.js' },
      },
      want: ['src/misc/ is no layer of the order in test/architecture.test.ts'],
    },
    {
      name: 'a layer without an index.ts',
      change: { 'turn/client.ts': "import '../stun/index.ts';" },
      want: ['src/turn/ has no index.ts (its public face)'],
    },
    {
      name: 'a layer missing from the exports map',
      change: {},
      exports: exportsOf('errors', 'ports', 'mux', 'lab'),
      want: ["package.json has no exports entry './stun'"],
    },
    {
      name: 'an export of internal',
      change: {},
      exports: { ...cleanExports, ...exportsOf('internal') },
      want: ["package.json exports './internal', which is no layer's index.ts"],
    },
    {
      name: 'an export pointing at another file',
      change: {},
      exports: {
        ...cleanExports,
        './mux': { types: './dist/mux/index.d.ts', default: './dist/mux/demux.js' },
      },
      want: [
        `package.json exports './mux' as {"types":"./dist/mux/index.d.ts","default":"./dist/mux/demux.js"}; want {"types":"./dist/mux/index.d.ts","default":"./dist/mux/index.js"}`,
      ],
    },
  ];
  for (const { name, change, exports, want } of cases) {
    it(`reports ${name}`, () => {
      assert.deepEqual(checkArchitecture(tree({ ...clean, ...change }), exports ?? cleanExports), want);
    });
  }
});
