/**
 * The demo's terminal view: where to watch, then one line per peer (state, chunks played,
 * continuity, source-to-peer latency, offload, upload, neighbours) and the edges' egress. On a TTY
 * it is redrawn in place (cursor up, clear to the end); otherwise it prints a plain block every
 * few seconds, so a log stays readable.
 * @module
 */
import type { Writable } from 'node:stream';

/** One peer's figures as the view shows them. */
export interface ViewPeer {
  readonly id: string;
  readonly state: 'starting' | 'joining' | 'playing' | 'killed' | 'exited' | 'polluter';
  readonly played: number;
  readonly continuity: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly offload: number;
  readonly uploadBps: number;
  readonly neighbours: number;
  readonly bans: number;
}

/** What the view draws. */
export interface ViewModel {
  readonly header: readonly string[];
  readonly peers: readonly ViewPeer[];
  readonly footer: readonly string[];
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '-');
const ms = (x: number): string => (Number.isFinite(x) && x > 0 ? String(Math.round(x)) : '-');

/** The lines of `model`. */
export function renderView(model: ViewModel): string[] {
  const rows = [
    ['peer', 'state', 'played', 'continuity', 'latency p50/p95 ms', 'offload', 'up kbit/s', 'nbrs', 'bans'],
    ...model.peers.map((p) => [
      p.id,
      p.state,
      String(p.played),
      pct(p.continuity),
      `${ms(p.latencyP50Ms)}/${ms(p.latencyP95Ms)}`,
      pct(p.offload),
      String(Math.round(p.uploadBps / 1000)),
      String(p.neighbours),
      String(p.bans),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  return [...model.header, '', ...table, '', ...model.footer];
}

/** Draws a {@link ViewModel} to a stream, in place on a TTY. */
export class DemoView {
  readonly #out: Writable & { isTTY?: boolean };
  readonly #plainEveryMs: number;
  #drawn = 0;
  #lastPlainMs = Number.NEGATIVE_INFINITY;

  constructor(out: Writable & { isTTY?: boolean }, options: { plainEveryMs?: number } = {}) {
    this.#out = out;
    this.#plainEveryMs = options.plainEveryMs ?? 5_000;
  }

  /** Whether it redraws in place. */
  get tty(): boolean {
    return this.#out.isTTY === true;
  }

  draw(model: ViewModel): void {
    const lines = renderView(model);
    if (this.tty) {
      const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A\x1b[J` : '';
      this.#out.write(`${up}${lines.join('\n')}\n`);
      this.#drawn = lines.length;
      return;
    }
    const now = performance.now();
    if (now - this.#lastPlainMs < this.#plainEveryMs) return;
    this.#lastPlainMs = now;
    this.#out.write(`${lines.join('\n')}\n\n`);
  }

  /** A line above the table (an event: a peer killed, banned…), kept on screen. */
  note(line: string): void {
    if (this.tty && this.#drawn > 0) {
      this.#out.write(`\x1b[${this.#drawn}A\x1b[J${line}\n`);
      this.#drawn = 0;
    } else this.#out.write(`${line}\n`);
  }
}
