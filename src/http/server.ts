import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config';
import { logger } from '../shared/logger';

export interface HttpServer {
  server: Server;
  port: number;
  /**
   * Stops accepting connections at once and lets the ones open finish: what is in flight is
   * answered with `Connection: close`, each keep-alive connection is closed as soon as it is idle,
   * and only what is still open at the grace deadline is cut.
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * How often Node looks for requests past their deadlines. Its default (30 s) would let a client
 * trickling a request outlive a shorter timeout by that much.
 */
function checkingInterval(http: Config['http']): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(http.requestTimeoutMs, http.headersTimeoutMs) / 4)));
}

/**
 * The HTTP server, with limits on slow clients (a request must arrive whole within
 * requestTimeoutMs, its headers within headersTimeoutMs; an idle keep-alive connection closes after
 * keepAliveTimeoutMs) and on how many connections it holds (those past maxConnections are dropped).
 */
export function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, http: Config['http']): Promise<HttpServer> {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  const server = createServer(
    { requestTimeout: http.requestTimeoutMs, headersTimeout: http.headersTimeoutMs, connectionsCheckingInterval: checkingInterval(http) },
    (req, res) => {
      inFlight.add(res);
      res.once('close', () => {
        inFlight.delete(res);
        // The connection this answer leaves idle closes now (its answer may have been under way at the stop).
        if (draining) setImmediate(() => server.closeIdleConnections());
      });
      if (draining) res.setHeader('connection', 'close');
      handler(req, res);
    },
  );
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  server.maxConnections = http.maxConnections;

  const drain = async (graceMs: number) => {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    server.closeIdleConnections();
    let deadline: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(true), graceMs)));
    const cut = await Promise.race([closed.then(() => false), graceOver]);
    clearTimeout(deadline);
    if (cut) {
      logger.warn('shutdown grace over: closing the connections still open', { requestsInFlight: inFlight.size });
      server.closeAllConnections();
      await closed;
    }
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : http.port, drain });
    });
  });
}
