/**
 * The one check of a UDP port number given by the user, used wherever the API takes a port
 * (`bindUdpSocket`, `StunServer.listen`, `Broker.listen`, `PunchPeer.open`, prediction ranges):
 * a port is an integer 0–65535. Without it Node wraps 70000 to 4464 and −1 to 65535 and
 * truncates 3478.9 to 3478, and an error then names a port the user never asked for.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';

/** Highest UDP port. */
export const MAX_PORT = 65_535;

/**
 * Returns `value` when it is an integer in `min`–65535 (`min` 0 allows "any free port").
 * @param option the option's name as the user spelled it (`'port'`, `'listen.port'`).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the option and the value.
 */
export function validatePort(value: unknown, option: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_PORT) {
    throw new InvalidOptionError(
      option,
      `${option} must be an integer port ${min}–${MAX_PORT}, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}
