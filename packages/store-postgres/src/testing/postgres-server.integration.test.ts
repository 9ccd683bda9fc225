import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { closedPort } from '../closed-port.test-support';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../index';
import { createTestDatabase, startTestPostgres } from './index';

describe('startTestPostgres', () => {
  it('starts a throwaway server when nothing answers at the URL, and removes it on stop', async () => {
    const port = await closedPort();
    const server = await startTestPostgres({
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    });
    let stopped = false;
    try {
      expect(server.throwaway).toBe(true);
      expect(server.url).not.toContain(`:${port}/`);
      const database = await createTestDatabase(server.url, 'throwaway');
      try {
        const store = await PostgresStore.connect({ connectionString: database.url });
        try {
          const id = randomUUID();
          const lease = await store.acquireLease(id);
          await store.writeState(lease, { id, title: 'on the throwaway server' });
          await store.releaseLease(lease);
          expect(await store.list()).toEqual([id]);
        } finally {
          await store.close();
        }
      } finally {
        await database.drop();
      }
      await server.stop();
      stopped = true;
      const client = new pg.Client({ connectionString: server.url });
      await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      if (!stopped) await server.stop();
    }
  });

  it('uses the server at the URL when it answers', async () => {
    const configured = await startTestPostgres();
    const again = await startTestPostgres({ url: configured.url });
    expect(again).toMatchObject({ url: configured.url, throwaway: false });
    await again.stop();
    await configured.stop();
  });
});
