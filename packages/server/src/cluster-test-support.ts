import {
  createTemporaryDirectory,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startServer, type FerryServer } from './server';
import {
  TEST_API_KEY,
  finishingLLM,
  testClient,
  waitForStatus,
  useTestDatabase,
  type TestClient,
} from './test-support';

/** Test-only helpers of the cluster suites (not part of the package's API). */

/** A server started by a test, and its client. */
export interface Replica {
  server: FerryServer;
  client: TestClient;
}

/** What {@link useReplicas} gives a test file. */
export interface Replicas {
  /** The URL of the file's own test database. */
  databaseUrl: () => string;
  /**
   * A server in this process: a replica on `databaseUrl`, or one on files without it. Every
   * server shares one workspace root, as the README requires of replicas.
   */
  newServer: (databaseUrl?: string, secretKey?: string) => Promise<Replica>;
  /** A scripted LLM answering every request with `finish`. */
  scriptedLLM: () => Promise<ScriptedLLMServer>;
  /** Runs `cleanup` after the current test (the last registered first). */
  onCleanup: (cleanup: () => Promise<void>) => void;
}

/**
 * Replicas of one cluster in this process for the calling test file, on a test database of its
 * own; what a test starts is closed after it.
 */
export function useReplicas(label: string): Replicas {
  const databaseUrl = useTestDatabase(label);
  let shared: TemporaryDirectory | undefined;
  beforeAll(async () => {
    shared = await createTemporaryDirectory();
  });
  afterAll(async () => {
    await shared?.remove();
  });
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const onCleanup = (cleanup: () => Promise<void>) => {
    cleanups.push(cleanup);
  };

  return {
    databaseUrl,
    onCleanup,
    async newServer(url, secretKey) {
      if (shared === undefined) throw new Error('the shared workspace root is not ready yet');
      const dir = await createTemporaryDirectory();
      onCleanup(() => dir.remove());
      const server = await startServer({
        port: 0,
        dataDir: join(dir.path, 'data'),
        workspaceRoot: join(shared.path, 'workspaces'),
        apiKey: TEST_API_KEY,
        ...(url === undefined ? {} : { databaseUrl: url, leaseTtl: 3 }),
        ...(secretKey === undefined ? {} : { secretKey }),
      });
      onCleanup(() => server.close());
      return { server, client: testClient(server) };
    },
    async scriptedLLM() {
      const llm = await finishingLLM();
      onCleanup(() => llm.close());
      return llm;
    },
  };
}

/** The body of `POST /api/conversations/{id}/events`: a user message, run or not. */
export function userMessage(text: string, run: boolean) {
  return { role: 'user', content: [{ type: 'text', text }], run };
}

/**
 * Starts a conversation on `replica` whose first message (`text`) runs, and waits, asking
 * `watcher` (default the same replica), until it finished; its id.
 */
export async function finishedOn(
  replica: Replica,
  agent: unknown,
  text = 'hello',
  watcher: Replica = replica,
): Promise<string> {
  const created = await replica.client.request<{ id: string }>('POST', '/api/conversations', {
    body: { agent, initial_message: { content: [{ type: 'text', text }], run: true } },
  });
  expect(created.status).toBe(201);
  await waitForStatus(watcher.client, created.body.id, ['finished']);
  return created.body.id;
}
