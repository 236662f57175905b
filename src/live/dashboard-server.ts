/**
 * The dashboard's HTTP server: the page and its scripts (static files, mpegts.js and uPlot from
 * node_modules), the live feed (Server-Sent Events, one message a second, a slow client dropped),
 * the live picture (a peer's `GET /live.ts` proxied, so the page has one origin), the demo's
 * actions (POST), and `/metrics` when given a registry. Loopback by default; elsewhere a token is
 * required by every route.
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InvalidOptionError } from '../errors/index.ts';
import { isLoopbackHost, presentedToken, tokenCookie, tokenMatches } from './dashboard-auth.ts';
import { DashboardFeed, type FeedMessage } from './dashboard-feed.ts';
import { closeServer, httpOrigin, listen, metricsHandler } from './metrics-server.ts';
import type { SwarmView } from './metrics-swarm.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export,
// and node:http's lazy WebSocket getters then load undici (about 9 MB and 40 ms per process).
const { createServer, get } = process.getBuiltinModule('node:http');

/** A link impairment the page asks for (the demo decides how to apply it). */
export interface DashboardImpairment {
  /** The peer whose links to impair; absent: the demo picks one. */
  readonly peer?: string;
  /** Loss, percent (0–100). */
  readonly lossPercent?: number;
  /** Added one-way delay, ms. */
  readonly delayMs?: number;
}

/** What the page's buttons call (the demo's methods); each absent one has no button. */
export interface DashboardActions {
  addPeer?(): Promise<unknown>;
  killPeer?(id?: string): Promise<unknown>;
  addPolluter?(): Promise<unknown>;
  impair?(impairment: DashboardImpairment): Promise<unknown>;
}

/** Settings of {@link Dashboard.start}. */
export interface DashboardOptions {
  /** The swarm now (`tracker.swarm()`), read once a second. */
  readonly swarm: () => SwarmView;
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** TCP port; 0 picks one. Default 0. */
  readonly port?: number;
  /** Required by every route when set; must be set when `host` is not loopback. */
  readonly token?: string;
  /** The URL of a peer's live MPEG-TS output (`http://127.0.0.1:port/live.ts`), proxied at `/live.ts`. */
  readonly player?: () => string | undefined;
  readonly actions?: DashboardActions;
  /** Also serve this registry at `/metrics`. */
  readonly registry?: Registry;
  /** Feed interval, ms. Default 1000. */
  readonly intervalMs?: number;
  /** Feed clients at most (more get 503). Default 32. */
  readonly maxClients?: number;
  /** Bytes a feed client may leave unread before it is dropped. Default 256 KiB. */
  readonly maxBufferedBytes?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** Counters of a {@link Dashboard}. */
export interface DashboardStats {
  readonly clients: number;
  readonly messages: number;
  /** Feed clients dropped for reading too slowly. */
  readonly slowClientsDropped: number;
  /** Requests refused for a missing or wrong token. */
  readonly unauthorized: number;
  /** Feed clients refused over `maxClients`. */
  readonly clientsRefused: number;
  readonly actions: number;
  readonly actionErrors: number;
}

const STATIC: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['dashboard/index.html', 'text/html; charset=utf-8'],
  '/app.js': ['dashboard/app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['dashboard/style.css', 'text/css; charset=utf-8'],
  '/vendor/mpegts.js': ['mpegts.js:dist/mpegts.js', 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.iife.min.js': ['uplot:dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': ['uplot:dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The file behind a STATIC entry: ours beside this module, a package's under its directory. */
function staticPath(spec: string): string {
  const colon = spec.indexOf(':');
  if (colon < 0) return join(here, spec);
  const pkg = spec.slice(0, colon);
  return join(dirname(require.resolve(`${pkg}/package.json`)), spec.slice(colon + 1));
}

const CSP =
  "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'";
const MAX_BODY_BYTES = 4096;
const MAX_PROXIES = 8;

/** A running dashboard. */
export class Dashboard implements AsyncDisposable {
  readonly #o: DashboardOptions;
  readonly #server: Server;
  readonly #feed: DashboardFeed;
  readonly #clients = new Set<ServerResponse>();
  readonly #proxies = new Set<IncomingMessage>();
  readonly #files = new Map<string, Buffer>();
  readonly #metrics: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: FeedMessage | undefined;
  #closing: Promise<void> | undefined;
  #stats = {
    messages: 0,
    slowClientsDropped: 0,
    unauthorized: 0,
    clientsRefused: 0,
    actions: 0,
    actionErrors: 0,
  };

  private constructor(options: DashboardOptions, server: Server) {
    this.#o = options;
    this.#server = server;
    this.#feed = new DashboardFeed();
    this.#metrics = options.registry === undefined ? undefined : metricsHandler(options.registry);
  }

  /**
   * Starts the server and the feed.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `token` when `host` is not loopback and no
   *   token is set (or it is shorter than 16 characters).
   */
  static async start(options: DashboardOptions): Promise<Dashboard> {
    const host = options.host ?? '127.0.0.1';
    if (options.token !== undefined && options.token.length < 16) {
      throw new InvalidOptionError('token', 'the dashboard token needs at least 16 characters');
    }
    if (options.token === undefined && !isLoopbackHost(host)) {
      throw new InvalidOptionError('token', `a dashboard on ${host} (not loopback) needs a token`);
    }
    const server = createServer();
    const dashboard = new Dashboard(options, server);
    server.on('request', (req, res) => dashboard.#request(req, res));
    await listen(server, host, options.port ?? 0, options.signal);
    dashboard.#tick();
    dashboard.#timer = setInterval(() => dashboard.#tick(), options.intervalMs ?? 1000);
    return dashboard;
  }

  /** `http://host:port/` (with `?token=…` when a token is set: the link to open). */
  get url(): string {
    const base = `${httpOrigin(this.address())}/`;
    return this.#o.token === undefined ? base : `${base}?token=${encodeURIComponent(this.#o.token)}`;
  }

  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  stats(): DashboardStats {
    return { clients: this.#clients.size, ...this.#stats };
  }

  /** Ends the feed, the proxied streams and the server. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      for (const res of this.#clients) res.destroy();
      this.#clients.clear();
      for (const upstream of this.#proxies) upstream.destroy();
      await closeServer(this.#server);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #tick(): void {
    let swarm: SwarmView;
    try {
      swarm = this.#o.swarm();
    } catch (error) {
      this.#o.logger?.warn({ err: error }, 'dashboard: swarm snapshot failed');
      return;
    }
    const message = this.#feed.next(swarm, Date.now());
    this.#last = message;
    if (this.#clients.size === 0) return;
    const frame = `data: ${JSON.stringify(message)}\n\n`;
    const limit = this.#o.maxBufferedBytes ?? 256 * 1024;
    for (const res of this.#clients) {
      // A client that has not read what it was sent is dropped, never buffered without bound.
      if (res.writableLength + (res.socket?.writableLength ?? 0) > limit) {
        this.#stats.slowClientsDropped++;
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
      this.#stats.messages++;
    }
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const token = this.#o.token;
    if (token !== undefined) {
      const presented = presentedToken(req, url);
      if (!tokenMatches(token, presented)) {
        this.#stats.unauthorized++;
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
        res.end('a token is required: open the URL the server printed (…?token=…)\n');
        return;
      }
      if (url.searchParams.has('token')) res.setHeader('set-cookie', tokenCookie(token));
    }
    if (this.#metrics?.(req, res) === true) return;
    const path = url.pathname;
    if (req.method === 'POST' && path.startsWith('/api/')) {
      this.#action(req, res, path.slice(5));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
      return;
    }
    if (path === '/feed') this.#subscribe(req, res);
    else if (path === '/live.ts') this.#proxy(req, res);
    else if (path === '/api/state') this.#json(res, 200, this.#state());
    else if (STATIC[path] !== undefined) void this.#static(res, STATIC[path]);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  #state(): unknown {
    const a = this.#o.actions;
    return {
      actions: {
        addPeer: a?.addPeer !== undefined,
        killPeer: a?.killPeer !== undefined,
        addPolluter: a?.addPolluter !== undefined,
        impair: a?.impair !== undefined,
      },
      player: this.#o.player !== undefined,
      last: this.#last ?? null,
      history: this.#feed.history(),
    };
  }

  async #static(res: ServerResponse, [spec, type]: readonly [string, string]): Promise<void> {
    let body = this.#files.get(spec);
    if (body === undefined) {
      try {
        body = await readFile(staticPath(spec));
      } catch (error) {
        this.#o.logger?.error({ err: error, file: spec }, 'dashboard: static file missing');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('file missing\n');
        return;
      }
      this.#files.set(spec, body);
    }
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    });
    res.end(body);
  }

  #subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= (this.#o.maxClients ?? 32)) {
      this.#stats.clientsRefused++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('too many feed clients\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(this.#state())}\n\n`);
    this.#clients.add(res);
    const gone = (): void => {
      this.#clients.delete(res);
    };
    req.on('close', gone);
    res.on('error', gone);
  }

  #proxy(req: IncomingMessage, res: ServerResponse): void {
    const upstreamUrl = this.#o.player?.();
    if (upstreamUrl === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '2' }).end('no peer plays yet\n');
      return;
    }
    if (this.#proxies.size >= MAX_PROXIES) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '2' }).end('too many players\n');
      return;
    }
    const request = get(upstreamUrl, (upstream) => {
      this.#proxies.add(upstream);
      upstream.on('close', () => this.#proxies.delete(upstream));
      if (upstream.statusCode !== 200) {
        res
          .writeHead(502, { 'content-type': 'text/plain' })
          .end(`the peer answered ${upstream.statusCode}\n`);
        upstream.resume();
        return;
      }
      res.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-store' });
      upstream.pipe(res);
      upstream.on('error', () => res.destroy());
    });
    request.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
      else res.destroy();
    });
    req.on('close', () => request.destroy());
  }

  #action(req: IncomingMessage, res: ServerResponse, name: string): void {
    // A page of another origin cannot drive the demo through a visitor's browser.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      this.#json(res, 403, { error: 'cross-origin request refused' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        this.#json(res, 413, { error: 'body too large' });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      let body: Record<string, unknown> = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.#json(res, 400, { error: 'the body is not JSON' });
        return;
      }
      const run = this.#resolveAction(name, body);
      if (run === undefined) {
        this.#json(res, 404, { error: `no action ${name}` });
        return;
      }
      this.#stats.actions++;
      run().then(
        (result) => this.#json(res, 200, { ok: true, result: result ?? null }),
        (error: unknown) => {
          this.#stats.actionErrors++;
          this.#o.logger?.warn({ err: error, action: name }, 'dashboard: action failed');
          this.#json(res, 500, { error: error instanceof Error ? error.message : String(error) });
        },
      );
    });
  }

  #resolveAction(name: string, body: Record<string, unknown>): (() => Promise<unknown>) | undefined {
    const a = this.#o.actions;
    const text = (v: unknown): string | undefined =>
      typeof v === 'string' && v.length <= 128 ? v : undefined;
    const num = (v: unknown): number | undefined =>
      typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    switch (name) {
      case 'add-peer':
        return a?.addPeer === undefined ? undefined : () => a.addPeer!();
      case 'kill-peer':
        return a?.killPeer === undefined ? undefined : () => a.killPeer!(text(body.id));
      case 'add-polluter':
        return a?.addPolluter === undefined ? undefined : () => a.addPolluter!();
      case 'impair': {
        if (a?.impair === undefined) return undefined;
        const peer = text(body.peer);
        const lossPercent = num(body.lossPercent);
        const delayMs = num(body.delayMs);
        const impairment: DashboardImpairment = {
          ...(peer === undefined ? {} : { peer }),
          ...(lossPercent === undefined ? {} : { lossPercent: Math.min(100, Math.max(0, lossPercent)) }),
          ...(delayMs === undefined ? {} : { delayMs: Math.min(5000, Math.max(0, delayMs)) }),
        };
        return () => a.impair!(impairment);
      }
      default:
        return undefined;
    }
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }
}
