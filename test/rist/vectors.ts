// RTCP and RTP datagrams captured from librist 0.2 (Debian's ffmpeg 5.1 sending
// `-rist_profile simple` to a plain UDP pair on loopback), as hex.

/** SR (packets 0, octets 0) + SDES CNAME "vm", the librist sender's periodic report. */
export const LIBRIST_SENDER_SR =
  '80c8000697841c06eeb9da6deb0f8061090a0247000000000000000081ca000397841c060102766d00000000';
/** Empty RR + SDES + RIST echo request (APP subtype 2), the librist sender's echo. */
export const LIBRIST_SENDER_ECHO =
  '80c9000197841c0681ca000397841c060102766d0000000082cc000597841c065249535483aaa5990f7a027100000000';
/** The first 12 bytes of a librist RTP packet: PT 33, seq 0, SSRC 0x97841c06. */
export const LIBRIST_RTP_HEADER = '80210000090a13cb97841c06';

/** A reception report block with every field set (codec round trips, fuzz seeds). */
export const REPORT_BLOCK = {
  ssrc: 9,
  fractionLost: 3,
  cumulativeLost: 77,
  highestSeq: 70_000,
  jitter: 0,
  lastSr: 5,
  delaySinceLastSr: 6,
} as const;
