/**
 * Wire constants and defaults of RIST (VSF TR-06-1 Simple profile, TR-06-2 Main profile), with
 * librist's defaults where the specification leaves a choice.
 * @module
 */

/** RTP payload type of MPEG-TS (RFC 3551 §6: MP2T, 90 kHz clock). */
export const RTP_PAYLOAD_TYPE_MP2T = 33;
/** RTP media clock of MPEG-TS, Hz. */
export const RTP_CLOCK_HZ = 90_000;
/** RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
export const RtcpType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
} as const;
/** RTPFB FMT of the generic NACK (RFC 4585 §6.2.1). */
export const RTPFB_FMT_GENERIC_NACK = 1;
/** Name of the RIST APP packets (TR-06-1 §5.2.6). */
export const RIST_APP_NAME = 'RIST';
/** Subtypes of the RIST APP packet: range NACK, sequence extension, echo request and response. */
export const RistAppSubtype = {
  RANGE_NACK: 0,
  SEQ_EXT: 1,
  ECHO_REQUEST: 2,
  ECHO_RESPONSE: 3,
} as const;
/** SDES item type CNAME (RFC 3550 §6.5.1). */
export const SDES_CNAME = 1;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** Default receiver latency (the recovery buffer), ms: librist's recovery buffer default. */
export const DEFAULT_LATENCY_MS = 1000;
/** Default wait before the first NACK of a gap (librist's reorder buffer), ms. */
export const DEFAULT_REORDER_MS = 15;
/** Default most NACKs for one packet (librist: 6–20). */
export const DEFAULT_MAX_RETRIES = 10;
/** Lower bound of the RTT used to space retries, ms (librist: 5). */
export const DEFAULT_RTT_MIN_MS = 5;
/** Upper bound of the RTT used to space retries, ms (librist: 500). */
export const DEFAULT_RTT_MAX_MS = 500;
/** RTT assumed before the first echo response, ms. */
export const INITIAL_RTT_MS = 50;
/** Interval of periodic RTCP (reports, SDES, echo request), ms (librist: 100). */
export const DEFAULT_RTCP_INTERVAL_MS = 100;
/** Packets the receiver's buffer holds at most (a power of two). */
export const DEFAULT_RECEIVER_BUFFER_PACKETS = 16_384;
/** Packets the sender's recovery buffer holds at most (a power of two). */
export const DEFAULT_SENDER_BUFFER_PACKETS = 16_384;
/** Default sender recovery buffer age, ms (librist's recovery buffer default). */
export const DEFAULT_RECOVERY_BUFFER_MS = 1000;
/** Largest RTP payload a sender takes, bytes (7 TS packets is 1 316; room for a jumbo TS group). */
export const MAX_PAYLOAD_BYTES = 1460;
/** TS packets per RTP payload (TR-06-1: 7 × 188 = 1 316 bytes). */
export const TS_PACKETS_PER_RTP = 7;
/** Size of one MPEG-TS packet, bytes. */
export const TS_PACKET_BYTES = 188;
/** Most NACK records in one RTCP datagram (keeps it under 1 200 bytes). */
export const MAX_NACK_RECORDS = 256;
/** Flows (senders) one receiver serves at most; more are dropped and counted. */
export const DEFAULT_MAX_FLOWS = 16;
/** A flow that sent nothing for this long is forgotten, ms. */
export const DEFAULT_FLOW_TIMEOUT_MS = 10_000;
/** Interval of the Main profile's TR-06-2 keepalive, ms (librist: 1 000). */
export const KEEPALIVE_INTERVAL_MS = 1000;
/**
 * Most packets a receiver asks for before the first one it saw (a flow whose first packets were
 * lost, known from the sender report's packet count); a larger gap is a receiver that joined a
 * running stream, and what it missed is not asked for.
 */
export const MAX_START_RECOVERY_PACKETS = 64;
