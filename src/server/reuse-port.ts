/**
 * Whether this platform and Node can form SO_REUSEPORT groups from `node:dgram`: Node ≥ 22.12
 * (and 23.1+) pass `reusePort` through libuv; Linux ≥ 3.9 and FreeBSD ≥ 12 balance a group by
 * 4-tuple and let a connected member take its 4-tuple. Other platforms either reject the flag or
 * give it another meaning (macOS: last binder wins), so connected mode refuses them.
 */
export function isReusePortAvailable(
  platform: NodeJS.Platform = process.platform,
  version: string = process.versions.node,
): boolean {
  if (platform !== 'linux' && platform !== 'freebsd') return false;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}
