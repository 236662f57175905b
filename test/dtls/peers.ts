// Real peer processes for the DTLS interop tests and the benchmark: openssl s_server/s_client and
// gnutls-serv/gnutls-cli, with their output collected, a bounded wait for a line, and a kill that
// waits for the exit (so nothing is left behind).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificatePem, type DtlsCertificate } from '../../src/dtls/index.ts';

/** Whether `tool` runs on this machine (`openssl`, `gnutls-cli`). */
export function hasTool(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** A running peer process. */
export class Peer {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  #exited: Promise<void>;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString('latin1');
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.out += d.toString('latin1');
    });
    this.#exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
  }

  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.out);
      if (m !== null) return m;
      if (performance.now() > deadline)
        throw new Error(`no ${pattern} in the peer output: ${this.out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  /** Kills the process and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.#exited;
  }
}

/** The certificate and key as PEM files in a temporary folder; `remove()` deletes them. */
export function pemFiles(certificate: DtlsCertificate): { cert: string; key: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-dtls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, certificatePem(certificate.chain[0]!));
  writeFileSync(key, certificate.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return { cert, key, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A UDP port that was free a moment ago (for tools that cannot report the port they bound). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
