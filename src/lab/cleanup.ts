import { debuglog } from 'node:util';
import { runTool, runToolSyncQuiet } from './tools.ts';
import { creatorPid } from './topology.ts';

const debug = debuglog('porthole:lab');

/** Names of every network namespace on the machine. */
export async function listNamespaces(signal?: AbortSignal): Promise<string[]> {
  const { stdout } = await runTool('ip', ['netns', 'list'], signal === undefined ? {} : { signal });
  return parseNamespaceList(stdout);
}

/** Parses `ip netns list` output (`name` or `name (id: 3)` per line). */
export function parseNamespaceList(stdout: string): string[] {
  const names: string[] = [];
  for (const line of stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    if (name !== undefined && name !== '') names.push(name);
  }
  return names;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process left in a namespace, then deletes it. Never throws. */
export async function deleteNamespace(name: string): Promise<void> {
  try {
    const { stdout } = await runTool('ip', ['netns', 'pids', name]);
    killPids(stdout);
  } catch {
    // The namespace may already be gone.
  }
  try {
    await runTool('ip', ['netns', 'del', name]);
  } catch (error) {
    debug('deleting %s: %s', name, (error as Error).message);
  }
}

/** Synchronous {@link deleteNamespace}, for process exit. */
export function deleteNamespaceSync(name: string): void {
  killPids(runToolSyncQuiet('ip', ['netns', 'pids', name]));
  runToolSyncQuiet('ip', ['netns', 'del', name]);
}

function killPids(stdout: string): void {
  for (const word of stdout.split(/\s+/)) {
    const pid = Number.parseInt(word, 10);
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Which namespaces {@link cleanupLabs} removes. */
export interface CleanupLabsOptions {
  /**
   * Remove the namespaces of this user prefix (`<prefix>-inet`, `<prefix>-nat-fc`, …) whoever
   * made them. Without it, only labs with a generated prefix whose creating process is dead.
   */
  readonly prefix?: string;
  readonly signal?: AbortSignal;
}

/**
 * Removes namespaces left by labs that were not torn down (a crashed or killed run): by default
 * those of the generated scheme (`phl<pid>-<rand>-…`) whose creating process no longer runs, so
 * labs of live processes are never touched. Resolves with the names removed.
 */
export async function cleanupLabs(options: CleanupLabsOptions = {}): Promise<string[]> {
  const names = await listNamespaces(options.signal);
  const doomed = names.filter((name) => {
    if (options.prefix !== undefined) return isOfPrefix(name, options.prefix);
    const pid = creatorPid(name);
    return pid !== undefined && !isAlive(pid);
  });
  for (const name of doomed) await deleteNamespace(name);
  return doomed;
}

function isOfPrefix(name: string, prefix: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false;
  const node = name.slice(prefix.length + 1);
  return /^(inet|h-open|nat-\w+|h-\w+)$/.test(node);
}
