// Starts coturn (`turnserver`) on 127.0.0.1 with long-term credentials for the TURN client tests:
// a free listening port in 64000–64499, a relay range of 50 ports in 64500–64999, pid file, database
// and log in a temporary folder; close() kills it and removes the folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortPool } from '../../src/ports/index.ts';
import { decodeStun, encodeStun, StunClass, StunMethod } from '../../src/stun/index.ts';

export const TURN_USER = 'alice';
export const TURN_PASSWORD = 'secret';
export const TURN_REALM = 'porthole.test';

export interface Coturn {
  readonly port: number;
  readonly relayMin: number;
  readonly relayMax: number;
  close(): Promise<void>;
}

/** Whether a STUN Binding request to 127.0.0.1:port is answered within `ms`. */
async function answers(port: number, ms: number): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const request = encodeStun({ method: StunMethod.BINDING, class: StunClass.REQUEST });
    const got = new Promise<boolean>((resolve) => {
      socket.on('message', (data) => {
        try {
          resolve(decodeStun(data).class === StunClass.SUCCESS_RESPONSE);
        } catch {}
      });
    });
    socket.send(request, port, '127.0.0.1');
    return await Promise.race([got, sleep(ms, false)]);
  } finally {
    socket.close();
  }
}

/**
 * Starts coturn with `extraArgs`. Its listening port is reserved from a PortPool and handed off right
 * before coturn starts (no probe-and-release); if coturn still loses the port, the pool is told and
 * hands out another (at most 8 tries).
 */
export async function startCoturn(extraArgs: readonly string[] = []): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-turn-'));
  const pool = new PortPool({
    range: '64000-64499',
    host: '127.0.0.1',
    cooldownMs: 0,
    warnEphemeralOverlap: false,
  });
  const listen = await pool.reserve({ owner: 'coturn' });
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt > 0) await listen.reportConflict(listen.port);
    await listen.handoff();
    const port = listen.port;
    const relayMin = 64500 + 50 * Math.floor(Math.random() * 10);
    const relayMax = relayMin + 49;
    const child: ChildProcess = spawn(
      'turnserver',
      [
        '-n',
        '--no-cli',
        '--no-tls',
        '--no-dtls',
        '--no-tcp',
        '-L',
        '127.0.0.1',
        '--relay-ip',
        '127.0.0.1',
        '--listening-port',
        String(port),
        '--min-port',
        String(relayMin),
        '--max-port',
        String(relayMax),
        '--lt-cred-mech',
        '--user',
        `${TURN_USER}:${TURN_PASSWORD}`,
        '--realm',
        TURN_REALM,
        '--allow-loopback-peers',
        '--pidfile',
        join(dir, `turnserver-${attempt}.pid`),
        '--db',
        join(dir, `turndb-${attempt}`),
        '--log-file',
        join(dir, 'turnserver.log'),
        '--no-stdout-log',
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
      child.once('error', () => {
        exited = true;
        resolve();
      });
    });
    const kill = async (): Promise<void> => {
      if (!exited) child.kill('SIGTERM');
      await Promise.race([exit, sleep(5000, undefined, { ref: false })]);
      if (!exited) child.kill('SIGKILL');
      await exit;
    };
    for (let i = 0; i < 40 && !exited; i++) {
      if (await answers(port, 250)) {
        return {
          port,
          relayMin,
          relayMax,
          async close() {
            await kill();
            await pool.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
    }
    await kill();
  }
  await pool.close();
  await rm(dir, { recursive: true, force: true });
  throw new Error('coturn did not start on any of 8 ports');
}
