import { InvalidOptionError } from '../errors/index.ts';

/**
 * Impairments of one NAT uplink, applied by tc netem in both directions (egress of the NAT's WAN
 * interface and egress of its port on the internet bridge). Every field defaults to 0.
 */
export interface NetemOptions {
  /** One-way delay added in each direction, in milliseconds. */
  readonly delayMs?: number;
  /** Uniform jitter around `delayMs`, in milliseconds (needs `delayMs` > 0). */
  readonly jitterMs?: number;
  /** Share of datagrams dropped in each direction, in percent (0–100). */
  readonly lossPercent?: number;
  /** Share of datagrams sent at once instead of delayed, reordering them, in percent (needs `delayMs` > 0). */
  readonly reorderPercent?: number;
}

function check(name: string, value: number | undefined, max: number): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0 || v > max) {
    throw new InvalidOptionError(name, `netem ${name} must be a number in 0..${max}, got ${value}`);
  }
  return v;
}

/**
 * The `tc qdisc replace … netem` arguments after `dev <if> root` for `options`, or an empty list
 * when no impairment is asked for. Throws InvalidOptionError `ERR_INVALID_OPTION` on bad values.
 */
export function netemArgs(options: NetemOptions): string[] {
  const delayMs = check('delayMs', options.delayMs, 60_000);
  const jitterMs = check('jitterMs', options.jitterMs, 60_000);
  const lossPercent = check('lossPercent', options.lossPercent, 100);
  const reorderPercent = check('reorderPercent', options.reorderPercent, 100);
  if ((jitterMs > 0 || reorderPercent > 0) && delayMs === 0) {
    throw new InvalidOptionError('delayMs', 'netem jitterMs and reorderPercent need delayMs > 0');
  }
  if (delayMs === 0 && lossPercent === 0) return [];
  const args = ['netem'];
  if (delayMs > 0) {
    args.push('delay', `${delayMs}ms`);
    if (jitterMs > 0) args.push(`${jitterMs}ms`);
  }
  if (lossPercent > 0) args.push('loss', `${lossPercent}%`);
  if (reorderPercent > 0) args.push('reorder', `${reorderPercent}%`);
  return args;
}

/** Whether tc's complaint means the kernel lacks the netem qdisc. */
export function isNetemMissing(stderr: string): boolean {
  return /qdisc kind is unknown|Unknown qdisc|No such file or directory/i.test(stderr);
}
