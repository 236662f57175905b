/**
 * Flags the live subcommands share (`porthole edge`, `peer`, `demo`): bit rates with a unit, the
 * channel's public key, and the JSON lines a `--json` process prints (one object per line:
 * `ready` once, `stats` every second, `closed` at the end).
 * @module
 */
import { InvalidArgumentError } from 'commander';

/** A commander parser for a bit rate: `2000000`, `500k`, `2M`, `1.5G` (bit/s). */
export function bitRate(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([kKmMgG]?)$/.exec(text.trim());
  if (m === null) throw new InvalidArgumentError('Give a bit rate such as 2000000, 500k, 2M or 1G.');
  const unit = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * unit);
}

/** A commander parser for a 32-byte key or id in hex (64 digits). */
export function hex32(text: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new InvalidArgumentError('Give 64 hex digits (32 bytes).');
  return Buffer.from(text, 'hex');
}

/** Prints one JSON line on stdout. */
export function printLine(type: string, body: object): void {
  process.stdout.write(`${JSON.stringify({ type, ...body })}\n`);
}

/** CPU and memory of this process, for the stats lines. */
export function processFigures(): { rssBytes: number; cpuUserUs: number; cpuSystemUs: number } {
  const cpu = process.cpuUsage();
  return { rssBytes: process.memoryUsage.rss(), cpuUserUs: cpu.user, cpuSystemUs: cpu.system };
}
