// Loads the hex vectors under test/vectors/stun/ (see the README there for their sources).
import { readFileSync } from 'node:fs';

/** The bytes of `test/vectors/stun/<name>.hex` (`#` comments and whitespace ignored). */
export function loadVector(name: string): Buffer {
  const text = readFileSync(new URL(`../vectors/stun/${name}.hex`, import.meta.url), 'utf8');
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}
