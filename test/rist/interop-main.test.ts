// Interop with librist (Debian's ffmpeg 5.1), both directions, Main profile (GRE on one port) in
// the clear, on loopback: direct and through the impairing relay at 5 % and 10 % loss each way
// (the cases: interop-cases.ts).
import { checkLeaks } from '../support/leaks.ts';
import { describeInterop } from './interop-cases.ts';

checkLeaks();

describeInterop(
  'interop with librist (ffmpeg), Main profile',
  [0, 0.05, 0.1].map((loss) => ({ loss, porthole: { profile: 'main' as const }, salt: 0x3f00 })),
  (c) => `${c.loss * 100} % loss each way`,
);
