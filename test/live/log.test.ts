// The live processes' logs: pino JSON lines with the metrics' names as fields, and the readable
// one-line form for a terminal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  collectNodeMetrics,
  createChannel,
  createLogger,
  createMetricsRegistry,
  formatLogLine,
  LivePeerCore,
  metricFields,
} from '../../src/live/index.ts';

describe('live logs', () => {
  it('writes one JSON object per line, fields named like the metrics', async () => {
    const lines: string[] = [];
    const log = createLogger({
      name: 'porthole-peer',
      pretty: false,
      sink: { write: (t: string) => lines.push(t) },
    });
    const registry = createMetricsRegistry('peer', { defaultMetrics: false });
    const core = new LivePeerCore({ channel: createChannel(), role: 'peer' });
    core.connect('n1', 0, 'direct');
    collectNodeMetrics(registry, { stats: () => core.stats() });
    log.info(await metricFields(registry), 'peer stats');
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    const record = JSON.parse(lines[0]!);
    assert.equal(record.name, 'porthole-peer');
    assert.equal(record.msg, 'peer stats');
    assert.equal(record.porthole_live_stalls_total, 0);
    assert.deepEqual(record.porthole_live_received_bytes_total, { edge: 0, peer: 0 });
    assert.equal(record.porthole_live_neighbours.direct, 1);
    assert.equal(record.porthole_live_neighbours.relay, 0);
    assert.equal('porthole_live_continuity_ratio' in record, false, 'NaN before anything played: left out');
  });

  it('formats a record as one readable line on a terminal', () => {
    const lines: string[] = [];
    const log = createLogger({
      name: 'porthole-tracker',
      pretty: true,
      sink: { write: (t: string) => lines.push(t) },
    });
    log.warn({ peers: 3, ratio: 0.123456, where: 'a b' }, 'tracker listening');
    assert.match(
      lines[0]!,
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}porthole-tracker: tracker listening peers=3 ratio=0\.1235 where="a b"\n$/,
    );
    assert.equal(formatLogLine('not json'), 'not json\n');
  });
});
