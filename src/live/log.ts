/**
 * Logs of the live processes: pino, one JSON object per line on stderr, with the metrics' names as
 * field names ({@link metricFields}); on a terminal the same records as one readable line each,
 * formatted here (no pino-pretty).
 * @module
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import type { Registry } from 'prom-client';

/** Where log lines go: anything with `write(text)`. */
export interface LogSink {
  write(text: string): unknown;
}

/** Settings of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The `name` field: `porthole-tracker`, `porthole-peer`, … */
  readonly name: string;
  /** Least level written. Default `info` (`PORTHOLE_LOG_LEVEL` overrides). */
  readonly level?: LoggerOptions['level'];
  /** Where lines go. Default stderr. */
  readonly sink?: LogSink;
  /** One readable line per record instead of JSON. Default: whether stderr is a terminal. */
  readonly pretty?: boolean;
}

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** The fields every pino record has, not repeated as key=value on a readable line. */
const BASE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Number(value.toPrecision(4)));
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON line as `HH:MM:SS.mmm LEVEL name: message key=value …` (time in UTC); a line that is
 * not JSON is returned as it is.
 */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time =
    typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '--:--:--.---';
  const level = (LEVELS[record.level as number] ?? String(record.level)).padEnd(5);
  const name = typeof record.name === 'string' ? `${record.name}: ` : '';
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const fields = Object.entries(record)
    .filter(([key]) => !BASE_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
  return `${time} ${level} ${name}${msg}${fields === '' ? '' : ` ${fields}`}\n`;
}

/** A pino logger writing JSON lines (or readable lines on a terminal) to stderr. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const sink = options.sink ?? process.stderr;
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const level = options.level ?? process.env.PORTHOLE_LOG_LEVEL ?? 'info';
  const stream = pretty ? { write: (line: string) => sink.write(formatLogLine(line)) } : sink;
  return pino({ name: options.name, level }, stream);
}

/** A field of {@link metricFields}: a number, or numbers by the series' label values. */
export type MetricField = number | Record<string, number>;

/**
 * The current values of `registry`'s `porthole_*` series as log fields named like the metrics:
 * an unlabelled series is a number, a labelled one an object keyed by its label values
 * (`{ porthole_live_received_bytes_total: { edge: 1200, peer: 8800 } }`; several labels joined
 * with `/`). The `process` label and Node's own metrics are left out.
 */
export async function metricFields(registry: Registry): Promise<Record<string, MetricField>> {
  const out: Record<string, MetricField> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    if (!metric.name.startsWith('porthole_')) continue;
    const values = metric.values.filter((v) => Number.isFinite(v.value));
    const labelled = values.some((v) => Object.keys(v.labels).some((k) => k !== 'process'));
    if (!labelled) {
      if (values[0] !== undefined) out[metric.name] = values[0].value;
      continue;
    }
    const byLabel: Record<string, number> = {};
    for (const v of values) {
      const key = Object.entries(v.labels)
        .filter(([k]) => k !== 'process')
        .map(([, value]) => String(value))
        .join('/');
      byLabel[key] = v.value;
    }
    out[metric.name] = byLabel;
  }
  return out;
}
