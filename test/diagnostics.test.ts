// The diagnostics_channel conventions across layers (docs/diagnostics.md): names, documentation,
// a test per channel, and the "no cost without a subscriber" gate at every event site.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ArqDiagnostics } from '../src/arq/index.ts';
import { DtlsDiagnostics } from '../src/dtls/index.ts';
import { LiveDiagnostics } from '../src/live/index.ts';
import { MuxDiagnostics } from '../src/mux/index.ts';
import { PortsDiagnostics } from '../src/ports/index.ts';
import { PunchDiagnostics } from '../src/punch/index.ts';
import { RistDiagnostics } from '../src/rist/index.ts';
import { ServerDiagnostics } from '../src/server/index.ts';
import { StunDiagnostics } from '../src/stun/index.ts';
import { TransportDiagnostics } from '../src/transport/index.ts';
import { TurnDiagnostics } from '../src/turn/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Each layer's exported names object, under the name its test refers to it by. */
const LAYERS: Record<string, [string, Record<string, string>]> = {
  ports: ['PortsDiagnostics', PortsDiagnostics],
  mux: ['MuxDiagnostics', MuxDiagnostics],
  server: ['ServerDiagnostics', ServerDiagnostics],
  stun: ['StunDiagnostics', StunDiagnostics],
  turn: ['TurnDiagnostics', TurnDiagnostics],
  transport: ['TransportDiagnostics', TransportDiagnostics],
  arq: ['ArqDiagnostics', ArqDiagnostics],
  punch: ['PunchDiagnostics', PunchDiagnostics],
  live: ['LiveDiagnostics', LiveDiagnostics],
  dtls: ['DtlsDiagnostics', DtlsDiagnostics],
  rist: ['RistDiagnostics', RistDiagnostics],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('diagnostics channels across layers', () => {
  it('every layer with a diagnostics.ts is listed here, and exports its names object', () => {
    const withChannels = readdirSync(join(root, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'internal')
      .filter((e) => readdirSync(join(root, 'src', e.name)).includes('diagnostics.ts'))
      .map((e) => e.name)
      .sort();
    assert.deepEqual(withChannels, Object.keys(LAYERS).sort());
  });

  it('names are porthole:<layer>:<event> in kebab-case, unique, with UPPER_SNAKE keys spelling the event', () => {
    const seen = new Set<string>();
    for (const [layer, [, names]] of Object.entries(LAYERS)) {
      for (const [key, name] of Object.entries(names)) {
        assert.match(name, new RegExp(`^porthole:${layer}:[a-z]+(-[a-z]+)*$`), name);
        assert.equal(key, name.slice(`porthole:${layer}:`.length).toUpperCase().replaceAll('-', '_'), name);
        assert.ok(!seen.has(name), `${name} twice`);
        seen.add(name);
      }
    }
  });

  it('docs/diagnostics.md documents exactly the channels there are', () => {
    const doc = read('docs/diagnostics.md');
    const all = Object.values(LAYERS).flatMap(([, names]) => Object.values(names));
    const documented = new Set(
      [...doc.matchAll(/\| `(porthole:[a-z]+:[a-z-]+)` \(`(\w+)\.(\w+)`\)/g)].map((m) => {
        const [, name, object, key] = m as unknown as [string, string, string, string];
        const layer = Object.values(LAYERS).find(([o]) => o === object);
        assert.ok(layer, `${object} in the docs is no layer's names object`);
        assert.equal(layer[1][key], name, `the docs pair ${name} with ${object}.${key}`);
        return name;
      }),
    );
    assert.deepEqual([...documented].sort(), all.sort());
  });

  it('every channel is used by its layer and asserted by test/<layer>/diagnostics.test.ts', () => {
    for (const [layer, [object, names]] of Object.entries(LAYERS)) {
      const test = read(`test/${layer}/diagnostics.test.ts`);
      const channels = read(`src/${layer}/diagnostics.ts`);
      for (const key of Object.keys(names)) {
        assert.ok(
          test.includes(`${object}.${key}`),
          `test/${layer}/diagnostics.test.ts never subscribes to ${object}.${key}`,
        );
        const created = new RegExp(`diagnosticChannel<\\w+>\\(\\s*${object}\\.${key}\\b`);
        assert.match(channels, created, `src/${layer}/diagnostics.ts creates no channel for ${key}`);
      }
      assert.ok(
        test.includes('spyPublishes('),
        `test/${layer}/diagnostics.test.ts has no no-subscriber test`,
      );
    }
  });

  it('every event site publishes behind hasSubscribers (no message built without a subscriber)', () => {
    // An event site is a `.publish(` call, a call of a `publish…` helper or of an `…Observed` path.
    // Each must have `hasSubscribers` on its line or the 3 before, unless it sits inside a
    // `publish…`/`…Observed` function (whose own call sites are checked by the same rule).
    const offenders: string[] = [];
    for (const file of sourceFiles('src')) {
      if (file.endsWith('diagnostics.ts') || file.includes('internal')) continue;
      const lines = read(file).split('\n');
      let inside = '';
      lines.forEach((line, i) => {
        const def =
          /^\s*(?:export\s+)?(?:async\s+)?(?:function\s+)?(#?\w+)\s*\(.*\)\s*(?::\s*[^=]+)?\{\s*$/.exec(line);
        if (def !== null && !/^\s*(if|for|while|switch|return|catch|else)\b/.test(line)) inside = def[1]!;
        // `publisher.publish(chunk)` (live's ChunkPublisher, docs/live.md "Source and ingest") and
        // `redis.publish(…)` (the tracker's Redis pub/sub) are no channels.
        const call =
          /(?<![Pp]ublisher|[Rr]edis)\.publish\(|(?<![\w#.])(?:d\.|this\.#)?(?:publish\w*|\w+Observed)\(/.test(
            line,
          );
        if (!call || def !== null) return;
        if (/^#?publish/.test(inside) || /Observed$/.test(inside)) return;
        if (lines.slice(Math.max(0, i - 3), i + 1).some((l) => l.includes('hasSubscribers'))) return;
        offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });
});
