import { runTool } from './tools.ts';

/** Whether the lab can run here, and if not, why. */
export type LabSupport =
  | { readonly supported: true }
  | { readonly supported: false; readonly reason: string };

/** Tools the lab needs, with the package that brings each. */
const REQUIRED_TOOLS: readonly (readonly [string, readonly string[], string])[] = [
  ['ip', ['-V'], 'iproute2'],
  ['nft', ['--version'], 'nftables'],
  ['tc', ['-V'], 'iproute2'],
  ['sysctl', ['-V'], 'procps'],
];

let cached: Promise<LabSupport> | undefined;

/**
 * Checks once per process that the lab can run: Linux, root, and `ip`, `nft`, `tc`, `sysctl`
 * installed. The reason is phrased for a test's skip message, e.g. `needs root: creates network
 * namespaces`.
 */
export function checkLabSupport(): Promise<LabSupport> {
  cached ??= probe();
  return cached;
}

/** Whether the lab can run here (see {@link checkLabSupport} for the reason when it cannot). */
export async function isLabSupported(): Promise<boolean> {
  return (await checkLabSupport()).supported;
}

/**
 * Whether an extra tool is installed (e.g. `conntrack`, `turnserver`, `stun`); resolves to a skip
 * reason naming its package when not, or undefined when it is.
 */
export async function missingTool(file: string, pkg: string): Promise<string | undefined> {
  try {
    await runTool('sh', ['-c', 'command -v "$1"', 'sh', file], { timeoutMs: 5_000 });
    return undefined;
  } catch {
    return `needs ${file} (apt package ${pkg})`;
  }
}

async function probe(): Promise<LabSupport> {
  if (process.platform !== 'linux') {
    return { supported: false, reason: `needs Linux: network namespaces (this is ${process.platform})` };
  }
  if (process.getuid?.() !== 0) return { supported: false, reason: 'needs root: creates network namespaces' };
  for (const [file, args, pkg] of REQUIRED_TOOLS) {
    try {
      await runTool(file, args, { timeoutMs: 5_000 });
    } catch {
      return { supported: false, reason: `needs ${file} (apt package ${pkg})` };
    }
  }
  return { supported: true };
}
