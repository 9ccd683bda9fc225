import { createServer } from 'node:net';

/** A port on 127.0.0.1 where nothing listens (for tests of refused connections). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 1),
      );
    });
  });
}
