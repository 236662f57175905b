// Interop with librist (Debian's ffmpeg 5.1), both directions, Main profile with a PSK secret
// (AES-128 at 5 % loss, AES-256 at 10 %, through the impairing relay; the cases: interop-cases.ts),
// and librist sending with a wrong passphrase: nothing delivered, every datagram a decrypt failure.
import { it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { describeInterop, ffmpegToPorthole } from './interop-cases.ts';

checkLeaks();

describeInterop(
  'interop with librist (ffmpeg), Main profile with PSK',
  [
    { loss: 0.05, porthole: { profile: 'main', secret: 'correct horse', encryption: 128 }, salt: 0x5f00 },
    { loss: 0.1, porthole: { profile: 'main', secret: 'battery staple', encryption: 256 }, salt: 0x6f00 },
  ],
  (c) => `AES-${c.porthole.encryption}, ${c.loss * 100} % loss each way`,
  (stream) => {
    it('ffmpeg sends with a wrong passphrase: nothing delivered, decrypt failures counted', (t) =>
      ffmpegToPorthole(t, stream(), {
        loss: 0,
        porthole: { profile: 'main', secret: 'the right one', encryption: 128 },
        libristSecret: 'a wrong one',
        salt: 0x7f00,
      }));
  },
);
