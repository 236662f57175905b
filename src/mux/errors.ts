/**
 * Codes of the mux layer (docs/mux.md, "Errors"). A bad range is `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors) with `option: 'range'`.
 * @module
 */

/** Specific codes of the mux layer. */
export const MuxErrorCode = {
  /** ConfigError: a byte of the range already has a handler on this demux. */
  RANGE_TAKEN: 'ERR_MUX_RANGE_TAKEN',
} as const;
/** One of the {@link MuxErrorCode} values. */
export type MuxErrorCodeValue = (typeof MuxErrorCode)[keyof typeof MuxErrorCode];
