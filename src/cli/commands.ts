// Registry of subcommands. Each file exports `register(program)` adding one subcommand.
import type { Command } from 'commander';
import { register as broker } from './broker.ts';
import { register as connect } from './connect.ts';
import { register as demo } from './demo.ts';
import { register as dtlsClient } from './dtls-client.ts';
import { register as dtlsServer } from './dtls-server.ts';
import { register as echo } from './echo.ts';
import { register as edge } from './edge.ts';
import { register as lab } from './lab.ts';
import { register as nat } from './nat.ts';
import { register as peer } from './peer.ts';
import { register as ping } from './ping.ts';
import { register as ports } from './ports.ts';
import { register as ristRecv } from './rist-recv.ts';
import { register as ristSend } from './rist-send.ts';
import { register as source } from './source.ts';
import { register as stunServer } from './stun-server.ts';
import { register as tracker } from './tracker.ts';

/** Every subcommand of `porthole`, in help order. */
export const commands: readonly ((program: Command) => void)[] = [
  ports,
  stunServer,
  nat,
  lab,
  echo,
  ping,
  broker,
  connect,
  source,
  tracker,
  edge,
  peer,
  ristSend,
  ristRecv,
  demo,
  dtlsServer,
  dtlsClient,
];
