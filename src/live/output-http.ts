/**
 * HTTP output: `GET /live.ts` serves the played MPEG-TS as one endless chunked response
 * (`video/mp2t`), each client starting at the next chunk that begins with a random-access point,
 * so ffplay, VLC and mpegts.js start decoding at once. CORS is open (the dashboard's player reads
 * it from another origin). A client that does not keep up (more than 8 MiB buffered) is dropped,
 * counted; at most {@link HTTP_OUTPUT_MAX_CLIENTS} clients.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutputStats, PlayedChunk, PlayoutOutput } from './output.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export,
// and node:http's lazy WebSocket getters then load undici (about 9 MB and 40 ms per process).
const { createServer } = process.getBuiltinModule('node:http');

/** Most clients at once; more get 503. */
export const HTTP_OUTPUT_MAX_CLIENTS = 64;
/** A client's unsent bytes beyond which it is dropped. */
export const HTTP_OUTPUT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** The stream's path. */
export const HTTP_OUTPUT_PATH = '/live.ts';

interface Client {
  readonly res: ServerResponse;
  started: boolean;
}

/** Serves the played stream over HTTP. */
export class HttpOutput implements PlayoutOutput {
  readonly #server: Server;
  readonly #clients = new Set<Client>();
  #chunks = 0;
  #bytes = 0;
  #dropped = 0;
  #served = 0;
  #closed = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `host:port` (default 127.0.0.1; port 0: any). */
  static async listen(port: number, host = '127.0.0.1'): Promise<HttpOutput> {
    const server = createServer();
    const output = new HttpOutput(server);
    server.on('request', (req, res) => output.#request(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return output;
  }

  /** The stream's URL. */
  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}${HTTP_OUTPUT_PATH}`;
  }

  /** The bound port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  write(chunk: PlayedChunk): void {
    this.#chunks++;
    for (const c of this.#clients) {
      if (!c.started) {
        if (!chunk.randomAccess) continue;
        c.started = true;
      }
      if (c.res.writableLength > HTTP_OUTPUT_MAX_BUFFERED_BYTES) {
        this.#dropped++;
        this.#clients.delete(c);
        c.res.destroy();
        continue;
      }
      c.res.write(chunk.payload);
      this.#bytes += chunk.payload.length;
    }
  }

  stats(): OutputStats {
    return {
      kind: 'http',
      target: this.url,
      chunksWritten: this.#chunks,
      bytesWritten: this.#bytes,
      dropped: this.#dropped,
      clients: this.#clients.size,
    };
  }

  /** Clients served since the start. */
  get served(): number {
    return this.#served;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const path = (req.url ?? '/').split('?')[0];
    if (path !== HTTP_OUTPUT_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`try ${HTTP_OUTPUT_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (this.#closed || this.#clients.size >= HTTP_OUTPUT_MAX_CLIENTS) {
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('too many clients\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Cache-Control': 'no-cache, no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    const client: Client = { res, started: false };
    this.#clients.add(client);
    this.#served++;
    const gone = (): void => {
      this.#clients.delete(client);
    };
    res.on('close', gone);
    res.on('error', gone);
  }
}
