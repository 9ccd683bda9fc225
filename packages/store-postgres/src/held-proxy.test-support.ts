import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 to `target`, whose new connections can be held back: while held,
 * a connection is accepted but reaches the target only once released (for tests that need a
 * reconnect to come after something else).
 */
export interface HeldProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** New connections wait from now on. */
  hold(): void;
  /** Lets the waiting connections, and the later ones, through. */
  release(): void;
  close(): Promise<void>;
}

export async function startHeldProxy(target: { host: string; port: number }): Promise<HeldProxy> {
  let held = false;
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    const through = () => {
      const upstream = connect(target.port, target.host);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    };
    if (held) waiting.push(through);
    else through();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const through of waiting.splice(0)) through();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
