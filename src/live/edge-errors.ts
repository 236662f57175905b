/**
 * Error codes of the live processes (edge, peer, outputs): the ones whose remedy differs from a
 * bad option. Every code is listed in docs/live.md, "Errors", and docs/errors.md.
 * @module
 */

/** Codes the edge, the peer and their links throw (`PortholeError`). */
export const LiveEdgeErrorCode = {
  /** An edge answered ADMIT with a refusal (bad or expired token, full, wrong channel, banned). */
  REFUSED: 'ERR_LIVE_EDGE_REFUSED',
  /** An edge did not answer ADMIT in time. */
  UNREACHABLE: 'ERR_LIVE_EDGE_UNREACHABLE',
  /** A child process of the demo (or a multi-process test) exited before it was ready. */
  CHILD_EXITED: 'ERR_LIVE_DEMO_CHILD_EXITED',
} as const;
/** One of the {@link LiveEdgeErrorCode} values. */
export type LiveEdgeErrorCodeValue = (typeof LiveEdgeErrorCode)[keyof typeof LiveEdgeErrorCode];
