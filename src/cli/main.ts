#!/usr/bin/env node
// The `porthole` command: one subcommand per file in this folder, registered in commands.ts.
// Every way out goes through here: an expected failure is one line on stderr and an exit code of
// fail.ts (docs/cli.md "Exit codes"); only a bug prints a stack trace. The process exits once the
// subcommand is done, so nothing it left behind keeps it running.
// Start-up (docs/cli.md "Start-up"): a subcommand's action loads its layers, so defining the
// commands loads none, and Node's compile cache keeps the compiled (and type-stripped) modules.
import { readFileSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { ExitCode, report } from './fail.ts';

enableCompileCache();
// The cache is written at exit; a long-running subcommand (a peer, killed rather than stopped) writes
// what its action loaded once it has started.
setTimeout(() => flushCompileCache(), 10_000).unref();

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

let running = '';
const program = new Command('porthole')
  .description(
    'real-time UDP networking tools: port ranges, echo servers, STUN, NAT discovery, hole punching and the NAT lab',
  )
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => write(`porthole: ${text.replace(/^error: /, '')}`),
  })
  .showHelpAfterError('(add --help for the flags)')
  .hook('preAction', (_program, action) => {
    running = action.name();
  });
for (const register of commands) register(program);

let exitCode: number = ExitCode.OK;
try {
  await program.parseAsync(process.argv);
  // A subcommand that passes a status through (`lab exec`) sets process.exitCode.
  exitCode = Number(process.exitCode ?? ExitCode.OK);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed the message already; --help and --version end here with exit code 0.
    exitCode = error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  } else {
    const failure = report(error, running);
    process.stderr.write(`${failure.line}\n`);
    exitCode = failure.exitCode;
  }
}
await flush(process.stdout);
await flush(process.stderr);
process.exit(exitCode);

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) resolve();
    else stream.write('', () => resolve());
  });
}
