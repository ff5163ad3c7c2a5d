import net from 'node:net';

/**
 * A TCP proxy on a loopback port, piping each connection to a target (Postgres, in the outage
 * tests), that a test can cut — every open connection reset, new ones refused, as when the
 * database host goes away — and restore on the same port.
 */
export interface TcpProxy {
  port: number;
  /** Connections open through the proxy now. */
  readonly open: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;

  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });
  const resetAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get open() {
      return pairs.size;
    },
    async cut() {
      const stopped = stopListening(); // from now on connecting is refused (nothing listens on the port)
      resetAll();
      await stopped;
    },
    async restore() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    async close() {
      const stopped = stopListening();
      resetAll();
      await stopped;
    },
  };
}
