// Interop with librist (Debian's ffmpeg 5.1), both directions, Simple profile, on loopback: direct
// and through the impairing relay at 5 % and 10 % loss each way (the cases: interop-cases.ts).
import { checkLeaks } from '../support/leaks.ts';
import { describeInterop } from './interop-cases.ts';

checkLeaks();

describeInterop(
  'interop with librist (ffmpeg), Simple profile',
  [0, 0.05, 0.1].map((loss) => ({ loss, porthole: {}, salt: 0x1f00 })),
  (c) => `${c.loss * 100} % loss each way`,
);
