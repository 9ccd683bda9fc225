import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type FerryServer } from '../server';
import { DEFAULT_MAX_AUTH_FAILURES } from './auth-failure-limit';

let server: FerryServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Statuses of `count` requests with a wrong key, each claiming to come from `client`. */
async function guesses(url: string, client: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const response = await fetch(`${url}/api/conversations/count`, {
      headers: { 'x-session-api-key': `wrong-${index}`, 'x-forwarded-for': client },
    });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

describe('trustProxy', () => {
  it('limits wrong keys per forwarded client when the proxy is trusted', async () => {
    await using dir = await createTemporaryDirectory();
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      apiKey: 'right-key',
      trustProxy: ['127.0.0.1'],
    });
    const first = await guesses(server.url, '203.0.113.7', DEFAULT_MAX_AUTH_FAILURES + 1);
    expect(first.at(-1)).toBe(429);
    // Another client behind the same proxy keeps its own allowance.
    expect(await guesses(server.url, '203.0.113.8', 1)).toEqual([401]);
  });

  it('ignores X-Forwarded-For without it: every client is the proxy', async () => {
    await using dir = await createTemporaryDirectory();
    server = await startServer({ port: 0, dataDir: dir.path, apiKey: 'right-key' });
    await guesses(server.url, '203.0.113.7', DEFAULT_MAX_AUTH_FAILURES + 1);
    expect(await guesses(server.url, '203.0.113.8', 1)).toEqual([429]);
  });
});
