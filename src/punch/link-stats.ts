import type { AgentStats, PathKind } from './agent-core.ts';

/** Counters of a {@link PunchLink}. */
export interface PunchLinkStats extends AgentStats {
  readonly path: PathKind | null;
  readonly sent: number;
  readonly received: number;
  /** Sends while no path was up. */
  readonly droppedNoPath: number;
  /** DATA frames from another address than the path's. */
  readonly droppedNotPath: number;
  /** Received datagrams dropped because the iterator queue was full. */
  readonly droppedQueueFull: number;
  readonly sendErrors: number;
  /** Most prediction sockets open at once. */
  readonly extraSocketsPeak: number;
  /** Prediction sockets open now. */
  readonly extraSockets: number;
}
