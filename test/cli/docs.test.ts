// docs/cli.md matches `--help`: every flag and argument of every subcommand this file lists is in
// that subcommand's section, and the exit codes table matches ExitCode. (Reads the commander
// definitions in-process; the other CLI tests run the real command.)
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commands } from '../../src/cli/commands.ts';
import { ExitCode } from '../../src/cli/fail.ts';

const doc = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const program = new Command('porthole');
for (const register of commands) register(program);

/** The text of `## name` up to the next `## `. */
function section(name: string): string {
  const start = doc.indexOf(`\n## ${name}\n`);
  assert.ok(start >= 0, `docs/cli.md has a "## ${name}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Every subcommand of this task (others document theirs with their layer). */
const DOCUMENTED = [
  'ports',
  'stun-server',
  'nat',
  'lab',
  'echo',
  'ping',
  'broker',
  'connect',
  'tracker',
  'token',
  'source',
  'edge',
  'peer',
  'rist-send',
  'rist-recv',
  'demo',
  'dtls-server',
  'dtls-client',
];

describe('docs/cli.md', () => {
  for (const name of DOCUMENTED) {
    it(`documents every flag of ${name}`, () => {
      const command = program.commands.find((c) => c.name() === name);
      assert.ok(command !== undefined, `porthole ${name} exists`);
      const text = section(name);
      const leaves = command.commands.length > 0 ? command.commands : [command];
      for (const leaf of leaves) {
        for (const option of leaf.options) {
          assert.ok(
            text.includes(`\`${option.long}`) || text.includes(` ${option.long}`),
            `${name}: ${option.long} is documented`,
          );
        }
        for (const argument of leaf.registeredArguments) {
          assert.ok(text.includes(argument.name()), `${name}: <${argument.name()}> is documented`);
        }
      }
    });
  }

  it('lists every exit code', () => {
    const text = section('Output, errors and exit codes');
    for (const code of Object.values(ExitCode))
      assert.match(text, new RegExp(`\\n\\| ${code} \\|`), `exit code ${code}`);
  });
});
