// `porthole dtls-server` and `porthole dtls-client` as real processes against openssl, data both
// ways: porthole dtls-client -> openssl s_server (certificate pin, and PSK), openssl s_client ->
// porthole dtls-server (stdin/stdout, --once), the two porthole commands with ALPN and a
// connection ID (--echo), and the one-line failures with their exit codes.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/cli/fail.ts';
import { type DtlsCertificate, generateCertificate } from '../../src/dtls/index.ts';
import { hasTool, Peer, pemFiles } from '../dtls/peers.ts';
import { checkLeaks } from '../support/leaks.ts';
import { assertFailure, exited, lineOf, runCli, spawnCli } from './cli.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
const PSK_HEX = '00112233445566778899aabbccddeeff';
const opensslMissing = hasTool('openssl') ? false : 'openssl is not installed (apt install openssl)';
let certificate: DtlsCertificate;
let files: ReturnType<typeof pemFiles>;

before(async () => {
  certificate = await generateCertificate({ commonName: 'porthole-cli' });
  files = pemFiles(certificate);
});
after(() => files.remove());

/** Everything a child wrote to `stream` so far, collected. */
function collected(child: ChildProcess, stream: 'stdout' | 'stderr'): { text: string } {
  const out = { text: '' };
  child[stream]?.on('data', (d: Buffer) => {
    out.text += d.toString();
  });
  return out;
}

async function until(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('porthole dtls-client -> openssl s_server', { skip: opensslMissing }, () => {
  for (const c of [
    { name: 'certificate pinned by fingerprint', psk: false },
    { name: 'PSK', psk: true },
  ]) {
    it(c.name, async () => {
      const args = ['s_server', '-dtls1_2', '-accept', `${LOCAL}:0`, '-cert', files.cert, '-key', files.key];
      if (c.psk)
        args.push(
          '-psk',
          PSK_HEX,
          '-psk_identity',
          'porthole',
          '-nocert',
          '-cipher',
          'PSK-AES128-GCM-SHA256',
        );
      const server = new Peer('openssl', args);
      try {
        const port = Number((await server.waitFor(/ACCEPT \S+:(\d+)/))[1]);
        const client = spawnCli([
          'dtls-client',
          `${LOCAL}:${port}`,
          ...(c.psk
            ? ['--psk', PSK_HEX, '--psk-identity', 'porthole']
            : ['--fingerprint', certificate.fingerprint]),
        ]);
        const done = exited(client);
        const stdout = collected(client, 'stdout');
        const status = await lineOf(client, 'stderr', (l) => l.includes('connected to'));
        assert.match(status, c.psk ? /TLS_PSK_WITH_AES_128_GCM_SHA256/ : /TLS_ECDHE_ECDSA_/);
        client.stdin?.write('from-porthole\n');
        await server.waitFor(/from-porthole/, 60_000);
        server.write('from-openssl\n');
        await until('the record on the client stdout', () => stdout.text.includes('from-openssl'));
        client.stdin?.end();
        const result = await done;
        assert.equal(result.code, 0, result.stderr);
        assert.equal(stdout.text, 'from-openssl\n');
      } finally {
        await server.kill();
      }
    });
  }
});

describe('openssl s_client -> porthole dtls-server', { skip: opensslMissing }, () => {
  it('stdin/stdout with one client, --once exits when it leaves', async () => {
    const server = spawnCli([
      'dtls-server',
      '--host',
      LOCAL,
      '--port',
      '0',
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--alpn',
      'webrtc',
      '--once',
    ]);
    const done = exited(server);
    const stdout = collected(server, 'stdout');
    const stderr = collected(server, 'stderr');
    await until('listening', () => /listening on 127\.0\.0\.1:\d+/.test(stderr.text));
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr.text)![1]);
    assert.ok(stderr.text.includes(certificate.fingerprint), 'the fingerprint of --cert is printed');
    const client = new Peer('openssl', [
      's_client',
      '-dtls1_2',
      '-connect',
      `${LOCAL}:${port}`,
      '-alpn',
      'webrtc',
    ]);
    try {
      await until('the client', () => stderr.text.includes('ALPN webrtc'));
      client.write('from-openssl\n');
      await until('the record on the server stdout', () => stdout.text.includes('from-openssl'));
      server.stdin?.write('from-porthole\n');
      await client.waitFor(/from-porthole/, 60_000);
      client.child.stdin.end(); // s_client sends close_notify at the end of its stdin
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(stdout.text, 'from-openssl\n');
    } finally {
      await client.kill();
      if (server.exitCode === null) server.kill('SIGKILL');
      await done;
    }
  });
});

describe('porthole dtls-client -> porthole dtls-server', () => {
  it('--echo with ALPN and a connection ID; the failures are one line with their exit code', async () => {
    const server = spawnCli([
      'dtls-server',
      '--host',
      LOCAL,
      '--port',
      '0',
      '--echo',
      '--alpn',
      'a,b',
      '--cid',
      '6',
    ]);
    const done = exited(server);
    const stderr = collected(server, 'stderr');
    try {
      await until('listening', () => /sha-256 [0-9A-F:]+/.test(stderr.text));
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr.text)![1]);
      const fingerprint = /sha-256 ([0-9A-F:]+)/.exec(stderr.text)![1]!;
      const client = spawnCli([
        'dtls-client',
        `${LOCAL}:${port}`,
        '--fingerprint',
        fingerprint,
        '--alpn',
        'b',
        '--cid',
        '0',
      ]);
      const clientDone = exited(client);
      const stdout = collected(client, 'stdout');
      const status = await lineOf(client, 'stderr', (l) => l.includes('connected to'));
      assert.match(status, /ALPN b, connection ID ours \(none\) peer's [0-9a-f]{12}/);
      client.stdin?.write('echo me\n');
      await until('the echo', () => stdout.text === 'echo me\n');
      client.stdin?.end();
      assert.equal((await clientDone).code, 0);
      const [usage, wrongPin, mismatch, silent] = await Promise.all([
        runCli(['dtls-client', `${LOCAL}:${port}`]),
        runCli(['dtls-client', `${LOCAL}:${port}`, '--fingerprint', 'AA:BB']),
        runCli(['dtls-client', `${LOCAL}:${port}`, '--fingerprint', fingerprint, '--alpn', 'c']),
        runCli(['dtls-client', `${LOCAL}:9`, '--insecure', '--timeout', '300']),
      ]);
      assertFailure(usage, ExitCode.USAGE, /must verify the server; give --fingerprint/);
      assertFailure(
        wrongPin,
        ExitCode.FAILED,
        /matches no pinned fingerprint \[ERR_DTLS_CERTIFICATE_REJECTED\]/,
      );
      assertFailure(mismatch, ExitCode.FAILED, /no_application_protocol \[ERR_DTLS_HANDSHAKE_FAILED\]/);
      assertFailure(silent, ExitCode.UNREACHABLE, /no DTLS handshake with 127\.0\.0\.1:9 within 300 ms/);
      assertFailure(
        await runCli(['dtls-server', '--cert', files.cert]),
        ExitCode.USAGE,
        /--cert and --key go together/,
      );
    } finally {
      server.kill('SIGTERM');
      assert.equal((await done).code, 0);
    }
  });
});
