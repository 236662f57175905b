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

// Main profile (librist 0.2.7 through ffmpeg 5.1, `-rist_profile main`, captured on a plain UDP
// socket): GRE 0x88B6, the reduced header (virtual ports 32768 → 1969 for RTCP, 32769 → 1968 for
// data), then RTCP or RTP.
/** SR + SDES in GRE, in the clear. */
export const LIBRIST_MAIN_SR =
  '000088b6800007b180c8000602a539e8eeba0546c7a411be43e172b3000000000000000081ca000302a539e80102766d00000000';
/** The start of an RTP datagram in GRE, in the clear (PT 33, seq 0, a TS sync byte). */
export const LIBRIST_MAIN_RTP_HEAD =
  '000088b6800107b08021000043e1740102a539e8474011100042f0250001c10000ff01ff0001fc80';
/** The passphrase of the encrypted captures (`-secret`). */
export const LIBRIST_PSK_SECRET = 'hunter22';
/** SR + SDES with `-encryption 128`: K and S set, RIST GRE version 1, nonce, GRE sequence 0. */
export const LIBRIST_PSK128_SR =
  '300888b6da41424500000000051e4056036c3c36669dddc138b7a035a48ca9980835546143ec0107650a6ab1ee4996e674966051d00710df4c2680a2';
/** SR + SDES with `-encryption 256` (the H bit set). */
export const LIBRIST_PSK256_SR =
  '304888b6a53e669e00000000e0171eee029a43ab17412a06fffcfefd9f92d1b5a3ba6706d92c3a00b6a42b2f8b80876487680bf7755fe4cb61ea9bc9';
