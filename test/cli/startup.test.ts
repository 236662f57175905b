// Start-up (docs/cli.md "Start-up"): defining every subcommand loads no layer (a subcommand's action
// loads its own), and the constants src/cli/flag-constants.ts copies agree with their layers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  BROKER_TOKEN_BYTES,
  isPeerIdText,
  LAB_NAT_TYPES,
  NAT_CLASSES,
  STUN_PORT,
  TRACKER_PORT,
} from '../../src/cli/flag-constants.ts';
import { NAT_TYPES } from '../../src/lab/index.ts';
import { DEFAULT_TRACKER_PORT, isTokenPeerId } from '../../src/live/index.ts';
import { NatClass } from '../../src/nat/index.ts';
import { isPeerId, MAX_TOKEN_BYTES } from '../../src/punch/index.ts';
import { STUN_DEFAULT_PORT } from '../../src/stun/index.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

const run = promisify(execFile);

/** Defines every subcommand in a fresh process and prints the files and packages it loaded. */
const PROBE = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
const { Command } = await import('commander');
const { commands } = await import(${JSON.stringify(new URL('../../src/cli/commands.ts', import.meta.url).href)});
const program = new Command('porthole');
for (const register of commands) register(program);
console.log(JSON.stringify({ commands: program.commands.length, loaded: [...loaded] }));
`;

/**
 * Loads what the `porthole peer` / `porthole edge` actions import (the live face, mux, ports,
 * punch) in a fresh process and prints the packages and layers it loaded.
 */
const LIVE_PROBE = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
for (const layer of ['live', 'mux', 'ports', 'punch'])
  await import(new URL(\`../../src/\${layer}/index.ts\`, ${JSON.stringify(import.meta.url)}).href);
console.log(JSON.stringify([...loaded]));
`;

describe('porthole start-up', () => {
  it('defines every subcommand without loading a layer or a package but commander', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE], {
      timeout: 60_000,
    });
    const { commands, loaded } = JSON.parse(stdout) as { commands: number; loaded: string[] };
    assert.ok(commands >= 13, `${commands} subcommands defined`);
    const src = new URL('../../src/', import.meta.url).href;
    const offending = loaded.filter((url) => {
      if (url.startsWith('node:')) return false;
      if (url.includes('/node_modules/')) return !url.includes('/node_modules/commander/');
      if (!url.startsWith(src)) return true;
      const path = url.slice(src.length);
      return !(path.startsWith('cli/') || path.startsWith('errors/') || path.startsWith('internal/'));
    });
    assert.deepEqual(offending, [], 'a subcommand file imports a layer at the top: import it in the action');
  });

  it('a peer or an edge loads no metrics, Redis or RIST code it does not use', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', LIVE_PROBE], {
      timeout: 60_000,
    });
    const loaded = JSON.parse(stdout) as string[];
    const src = new URL('../../src/', import.meta.url).href;
    const packages = new Set(loaded.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]));
    const layers = new Set(
      loaded.filter((url) => url.startsWith(src)).map((url) => url.slice(src.length).split('/')[0]),
    );
    for (const name of ['prom-client', '@opentelemetry/api', 'ioredis', 'uplot', 'mpegts.js'])
      assert.ok(!packages.has(name), `${name} loaded by the live face: load it where it is used`);
    for (const layer of ['rist', 'transport', 'lab'])
      assert.ok(!layers.has(layer), `the ${layer} layer loaded by the live face: import it where it is used`);
    assert.ok(layers.has('live') && packages.has('pino'), 'the probe loaded the live face');
  });

  it('copies the layer constants the flag definitions name', () => {
    assert.equal(STUN_PORT, STUN_DEFAULT_PORT);
    assert.equal(TRACKER_PORT, DEFAULT_TRACKER_PORT);
    assert.equal(BROKER_TOKEN_BYTES, MAX_TOKEN_BYTES);
    assert.deepEqual([...LAB_NAT_TYPES], [...NAT_TYPES]);
    assert.deepEqual([...NAT_CLASSES], Object.values(NatClass));
  });

  it('checks peer ids as the broker and the tokens do', () => {
    const random = new Prng(testSeed(0x5741));
    const cases = ['', 'a', 'has space', 'x'.repeat(64), 'x'.repeat(65), 'é', '\x7f', '!~'];
    for (let i = 0; i < 500; i++) {
      const length = random.int(70);
      let id = '';
      for (let j = 0; j < length; j++) id += String.fromCharCode(0x19 + random.int(0x68));
      cases.push(id);
    }
    for (const id of cases) {
      assert.equal(isPeerIdText(id), isPeerId(id), `${JSON.stringify(id)} (${replayHint()})`);
      assert.equal(isPeerIdText(id), isTokenPeerId(id), JSON.stringify(id));
    }
  });
});
