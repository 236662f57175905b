/**
 * Racing a promise against an `AbortSignal`, the one way every layer does it.
 * @module
 */
import { AbortError } from '../errors/index.ts';

/**
 * Settles as `promise` does, or rejects with AbortError `ERR_ABORTED` (cause: the signal's reason)
 * as soon as `signal` fires, whichever comes first. The abort listener is removed once either
 * settles. `promise` itself is not cancelled: the caller undoes what it started.
 * @throws (rejects) AbortError at once when `signal` has already fired.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // The raced promise may still reject later: keep that from being an unhandled rejection.
    promise.catch(ignore);
    return Promise.reject(new AbortError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(ignore);
      reject(new AbortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function ignore(): void {}
