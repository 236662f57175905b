/**
 * Counters fed by the library's diagnostics channels (punch, arq, mux): punches by NAT pair and
 * outcome, ARQ conversations and retransmissions, datagrams dropped by reason. Label values come
 * from the channels' fixed reason lists and the NAT classes, so every set is bounded.
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { Counter, Registry } from 'prom-client';
import {
  type ArqConversationClosedMessage,
  type ArqConversationDeadMessage,
  type ArqDatagramDroppedMessage,
  ArqDiagnostics,
} from '../arq/index.ts';
import { type MuxDatagramDroppedMessage, MuxDiagnostics } from '../mux/index.ts';
import {
  type PunchBrokerIntroductionMessage,
  type PunchBrokerRegistrationMessage,
  PunchDiagnostics,
  type PunchFailedMessage,
  type PunchIntroducedMessage,
  type PunchPathChangedMessage,
  type PunchRegisteredMessage,
} from '../punch/index.ts';
import { natLabel } from './metrics-collect.ts';
import { promClient } from './metrics-prom.ts';

/** Links (or broker peers) remembered between two events at most; the oldest is forgotten first. */
export const DIAGNOSTICS_MEMORY_MAX = 4096;

/** Settings of {@link collectDiagnosticsMetrics}. */
export interface DiagnosticsMetricsOptions {
  /** This process's own NAT class (the `local_nat` of its punches), read at each punch outcome. */
  readonly natClass?: () => string | undefined;
}

/** A subscription to the channels; {@link DiagnosticsMetrics.close} unsubscribes. */
export interface DiagnosticsMetrics {
  close(): void;
}

/** A map that forgets its oldest entry past {@link DIAGNOSTICS_MEMORY_MAX}. */
class Recent<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    if (!this.has(key) && this.size >= DIAGNOSTICS_MEMORY_MAX) {
      const oldest = this.keys().next();
      if (oldest.done !== true) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/** Bounded text for a reason label: the channels' reasons are short literals. */
const reasonLabel = (value: unknown): string =>
  typeof value === 'string' && /^[a-zA-Z-]{1,32}$/.test(value) ? value : 'other';

/**
 * Subscribes `registry`'s counters to the punch, arq and mux diagnostics channels of this process
 * (see docs/live.md, "Metrics"). Call `close()` when the process stops.
 */
export function collectDiagnosticsMetrics(
  registry: Registry,
  options: DiagnosticsMetricsOptions = {},
): DiagnosticsMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new (promClient().Counter)<L>({ name, help, labelNames, registers: [registry] });
  const punches = counter(
    'porthole_punch_outcomes_total',
    'Punch attempts by NAT pair (local, remote) and outcome (direct, predicted, relay, failed).',
    ['local_nat', 'remote_nat', 'outcome'],
  );
  const pathChanges = counter(
    'porthole_punch_path_changes_total',
    'Path changes of punched links, by kind.',
    ['kind'],
  );
  const registrations = counter(
    'porthole_punch_registrations_total',
    'Registrations of this node at a broker, by status (ok, refused).',
    ['status'],
  );
  const brokerRegistrations = counter(
    'porthole_punch_broker_registrations_total',
    'REGISTERs the broker decided, by status and NAT class.',
    ['status', 'nat_class'],
  );
  const introductions = counter(
    'porthole_punch_broker_introductions_total',
    'Introductions the broker made, by NAT pair (initiator, responder).',
    ['initiator_nat', 'responder_nat'],
  );
  const arqClosed = counter(
    'porthole_arq_conversations_closed_total',
    'ARQ conversations ended, by reason.',
    ['reason'],
  );
  const arqRetransmits = counter(
    'porthole_arq_retransmits_total',
    'Segments retransmitted by ARQ conversations, counted when each conversation ends.',
    [],
  );
  const arqDead = counter('porthole_arq_dead_links_total', 'ARQ links found dead, by cause.', ['cause']);
  const arqDropped = counter('porthole_arq_datagrams_dropped_total', 'ARQ datagrams dropped, by reason.', [
    'reason',
  ]);
  const muxDropped = counter(
    'porthole_mux_datagrams_dropped_total',
    'Datagrams the demux dropped, by reason.',
    ['reason'],
  );

  const remoteNat = new Recent<string>();
  const brokerNat = new Recent<string>();
  const local = (): string => natLabel(options.natClass?.());
  const outcome = (linkId: string, result: string): void => {
    const remote = remoteNat.get(linkId);
    if (remote === undefined) return; // not introduced here, or already counted
    remoteNat.delete(linkId);
    punches.inc({ local_nat: local(), remote_nat: remote, outcome: result });
  };

  const handlers: [string, (message: unknown) => void][] = [
    [
      PunchDiagnostics.INTRODUCED,
      (m) => {
        const { linkId, remoteNat: nat } = m as PunchIntroducedMessage;
        remoteNat.set(linkId, natLabel(nat));
      },
    ],
    [
      PunchDiagnostics.PATH_CHANGED,
      (m) => {
        const { linkId, kind } = m as PunchPathChangedMessage;
        pathChanges.inc({ kind: reasonLabel(kind) });
        if (kind !== 'none') outcome(linkId, reasonLabel(kind));
      },
    ],
    [
      PunchDiagnostics.PUNCH_FAILED,
      (m) => {
        const { linkId, relay } = m as PunchFailedMessage;
        if (!relay) outcome(linkId, 'failed');
      },
    ],
    [
      PunchDiagnostics.REGISTERED,
      (m) => registrations.inc({ status: reasonLabel((m as PunchRegisteredMessage).status) }),
    ],
    [
      PunchDiagnostics.BROKER_REGISTRATION,
      (m) => {
        const { peerId, status, natClass } = m as PunchBrokerRegistrationMessage;
        const nat = natLabel(natClass);
        brokerRegistrations.inc({ status: reasonLabel(status), nat_class: nat });
        if (status === 'ok') brokerNat.set(peerId, nat);
      },
    ],
    [
      PunchDiagnostics.BROKER_INTRODUCTION,
      (m) => {
        const { initiator, responder } = m as PunchBrokerIntroductionMessage;
        introductions.inc({
          initiator_nat: natLabel(brokerNat.get(initiator.peerId)),
          responder_nat: natLabel(brokerNat.get(responder.peerId)),
        });
      },
    ],
    [
      ArqDiagnostics.CONVERSATION_CLOSED,
      (m) => {
        const { reason, retransmits } = m as ArqConversationClosedMessage;
        arqClosed.inc({ reason: reasonLabel(reason) });
        if (retransmits > 0) arqRetransmits.inc(retransmits);
      },
    ],
    [
      ArqDiagnostics.CONVERSATION_DEAD,
      (m) => arqDead.inc({ cause: reasonLabel((m as ArqConversationDeadMessage).cause) }),
    ],
    [
      ArqDiagnostics.DATAGRAM_DROPPED,
      (m) => arqDropped.inc({ reason: reasonLabel((m as ArqDatagramDroppedMessage).reason) }),
    ],
    [
      MuxDiagnostics.DATAGRAM_DROPPED,
      (m) => muxDropped.inc({ reason: reasonLabel((m as MuxDatagramDroppedMessage).reason) }),
    ],
  ];
  for (const [name, handler] of handlers) diagnostics_channel.subscribe(name, handler);
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      for (const [name, handler] of handlers) diagnostics_channel.unsubscribe(name, handler);
    },
  };
}
