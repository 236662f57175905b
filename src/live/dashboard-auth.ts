/**
 * The dashboard's access token: required when the server listens beyond loopback, taken from the
 * `token` query parameter (then kept in a cookie), an `Authorization: Bearer` header or that
 * cookie, compared in constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The cookie that carries the token after the first request that gave it in the URL. */
export const DASHBOARD_COOKIE = 'porthole_dashboard';

/** Whether `host` is a loopback address or `localhost` (then a token is optional). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
  return false;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The token a request presents (query, bearer header, cookie), or undefined. */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query !== null) return query;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') === true) return auth.slice(7).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === DASHBOARD_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Whether `presented` equals `token` (constant time over their hashes). */
export function tokenMatches(token: string, presented: string | undefined): boolean {
  return presented !== undefined && timingSafeEqual(digest(token), digest(presented));
}

/** The Set-Cookie value keeping `token` for the page's later requests (scripts, feed, video). */
export function tokenCookie(token: string): string {
  return `${DASHBOARD_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
