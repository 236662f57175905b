import { debuglog } from 'node:util';

const debug = debuglog('porthole:lab');

/** What the registry needs of a live lab. */
export interface TeardownTarget {
  /** Tears down at once, synchronously (process exit). Must not throw. */
  teardownSync(): void;
  /** Tears down asynchronously (signals). Must not reject. */
  close(): Promise<void>;
}

const live = new Set<TeardownTarget>();
let installed = false;
let signalsWanted = 0;

const onExit = (): void => {
  for (const lab of live) lab.teardownSync();
  live.clear();
};

const onSignal = (signal: NodeJS.Signals): void => {
  debug('%s: tearing down %d lab(s)', signal, live.size);
  const all = [...live].map((lab) => lab.close());
  void Promise.allSettled(all).then(() => {
    uninstall();
    // Re-raise with the default disposition now that our handlers are gone.
    process.kill(process.pid, signal);
  });
};

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
}

function uninstall(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  signalsWanted = 0;
}

/**
 * Registers a lab for teardown on process exit (including an uncaught exception) and, when
 * `handleSignals`, on SIGINT / SIGTERM / SIGHUP (after which the signal is re-raised). Returns
 * the function that unregisters it.
 */
export function registerLab(lab: TeardownTarget, handleSignals: boolean): () => void {
  install();
  live.add(lab);
  if (handleSignals) {
    if (signalsWanted === 0) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
    }
    signalsWanted++;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    live.delete(lab);
    if (handleSignals && --signalsWanted === 0) uninstall();
  };
}

/** Number of labs currently registered (tests). */
export function liveLabCount(): number {
  return live.size;
}
