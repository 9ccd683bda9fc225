import type { AnyEvent } from '@ferry/sdk-core';
import { createTemporaryDirectory, startScriptedLLMServer } from '@ferry/sdk-core/testing';
import { PostgresStore } from '@ferry/store-postgres';
import {
  createTestDatabase,
  startThrowawayPostgres,
  type ThrowawayPostgresServer,
} from '@ferry/store-postgres/testing';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { slowThinkTurn, startReplica, thinkingAgent, waitAllFinished } from './cluster-support';
import { duplicateIds } from './conversation-checks';
import { call, expectStatus } from './server-http';
import type { ServerProcess } from './teleport-server-process';

const CONVERSATIONS = 12;

// A PostgreSQL server of this test's own: stopping it disturbs no other test.
let postgres: ThrowawayPostgresServer;
beforeAll(async () => {
  postgres = await startThrowawayPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

function messageBody(text: string, run: boolean) {
  return { role: 'user', content: [{ type: 'text', text }], run };
}

function messageTexts(log: readonly AnyEvent[]): string[] {
  return log.flatMap((event) => {
    if (event.kind !== 'MessageEvent') return [];
    const message = (event as { llm_message?: { content?: { text?: string }[] } }).llm_message;
    return (message?.content ?? []).map((part) => part.text ?? '');
  });
}

describe('the database of a cluster restarted under load', () => {
  it('answers 503 while it is down, loses nothing acknowledged, and resumes by itself', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({ respond: slowThinkTurn(4, 150) });
    const database = await createTestDatabase(postgres.url, 'cluster_restart');
    const replicas: ServerProcess[] = [];
    try {
      for (let index = 0; index < 2; index += 1) {
        replicas.push(
          await startReplica({
            databaseUrl: database.url,
            dataDir: join(dir.path, `replica-${index}`),
            workspaceRoot: join(dir.path, 'workspaces'),
            leaseTtlSeconds: 3,
          }),
        );
      }
      const ids: string[] = [];
      for (let index = 0; index < CONVERSATIONS; index += 1) {
        const created = await expectStatus(
          (replicas[index % 2] as ServerProcess).url,
          201,
          'POST',
          '/api/conversations',
          { agent: thinkingAgent(llm.baseUrl) },
        );
        ids.push((created.body as { id: string }).id);
      }
      // Load: every conversation gets messages through both replicas, all the time.
      const acknowledged = new Map<string, string[]>(ids.map((id) => [id, []]));
      const statuses: number[] = [];
      const odd: unknown[] = [];
      let loading = true;
      let sent = 0;
      const load = Promise.all(
        ids.map(async (id, index) => {
          while (loading) {
            const text = `message ${sent++}`;
            const replica = replicas[(index + sent) % 2] as ServerProcess;
            const answer = await call(
              replica.url,
              'POST',
              `/api/conversations/${id}/events`,
              messageBody(text, sent % 4 === 0),
            ).catch((error: unknown) => ({ status: 0, body: String(error) }));
            statuses.push(answer.status);
            if (answer.status !== 200 && answer.status !== 503) odd.push(answer.body);
            if (answer.status === 200) acknowledged.get(id)?.push(text);
            await sleep(100);
          }
        }),
      );
      await sleep(1_000);
      await postgres.halt();
      const down = { ready: 0, errors: new Set<number>() };
      await vi.waitFor(
        async () => {
          const ready = await call((replicas[0] as ServerProcess).url, 'GET', '/ready');
          expect(ready.status).toBe(503);
        },
        { timeout: 15_000, interval: 100 },
      );
      down.ready = (await call((replicas[1] as ServerProcess).url, 'GET', '/ready')).status;
      const during = await call(
        (replicas[1] as ServerProcess).url,
        'GET',
        `/api/conversations/${ids[0]}`,
      );
      down.errors.add(during.status);
      await sleep(2_000);
      const whileDown = statuses.length;
      await postgres.resume();
      await vi.waitFor(
        async () => {
          for (const replica of replicas) {
            expect((await call(replica.url, 'GET', '/ready')).status).toBe(200);
          }
        },
        { timeout: 30_000, interval: 200 },
      );
      await sleep(1_000);
      loading = false;
      await load;

      expect(down.ready).toBe(503);
      expect([...down.errors]).toEqual([503]);
      // Every answer was a success or a clear 503; none hung (0) or failed otherwise.
      expect(odd).toEqual([]);
      expect(statuses.slice(0, whileDown)).toContain(503);

      const store = await PostgresStore.connect({ connectionString: database.url });
      try {
        for (const id of ids) {
          const log = await store.readEvents(id);
          expect(duplicateIds(log)).toEqual([]);
          const texts = messageTexts(log);
          for (const text of acknowledged.get(id) ?? []) expect(texts).toContain(text);
        }
      } finally {
        await store.close();
      }
      // Service resumed: every conversation runs to the end again, through either replica.
      for (const [index, id] of ids.entries()) {
        await expectStatus(
          (replicas[index % 2] as ServerProcess).url,
          200,
          'POST',
          `/api/conversations/${id}/events`,
          messageBody('now run', true),
        );
      }
      await waitAllFinished((replicas[1] as ServerProcess).url, ids, 60_000);
    } finally {
      for (const replica of replicas) await replica.stop();
      await database.drop();
    }
  }, 240_000);
});
