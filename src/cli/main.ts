#!/usr/bin/env node
// The `porthole` command: one subcommand per file in this folder, registered in commands.ts.
import { Command } from 'commander';
import { commands } from './commands.ts';

const program = new Command('porthole')
  .description('real-time UDP networking tools: port ranges, echo servers, STUN, NAT discovery and the NAT lab')
  .showHelpAfterError();
for (const register of commands) register(program);
await program.parseAsync(process.argv);
