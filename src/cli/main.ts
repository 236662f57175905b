#!/usr/bin/env node
// The `porthole` command: one subcommand per file in this folder, registered in commands.ts.
import { Command } from 'commander';
import { PortholeError } from '../errors/index.ts';
import { commands } from './commands.ts';

const program = new Command('porthole')
  .description(
    'real-time UDP networking tools: port ranges, echo servers, STUN, NAT discovery and the NAT lab',
  )
  .showHelpAfterError();
for (const register of commands) register(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Errors a user can act on are printed as their message and code, without a stack.
  if (error instanceof PortholeError) {
    console.error(`porthole: ${error.message} [${error.code}]`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
