// The simulator's PRNG is the shared one.
export { mulberry32, randomBytesFrom } from '../../support/prng.ts';
