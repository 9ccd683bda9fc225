import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import {
  createTestDatabase,
  serverTestStore,
  startTestPostgres,
  testStoreKind,
  type TestDatabase,
  type TestPostgresServer,
} from '@ferry/store-postgres/testing';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import type { ConversationInfo } from './schemas/conversation-schemas';
import { startServer, type FerryServer, type StartServerOptions } from './server';

/** Test-only helpers (not part of the package's API). */

/** An API key used by tests; any string works, it is never a real key. */
export const TEST_API_KEY = 'ferry-test-key';

/** An agent whose LLM is the scripted server. */
export function scriptedAgent(
  llm: ScriptedLLMServer,
  options: { model?: string; tools?: string[] } = {},
) {
  return {
    kind: 'Agent',
    llm: {
      model: options.model ?? 'scripted',
      base_url: llm.baseUrl,
      api_key: 'sk-test-scripted-secret',
    },
    tools: (options.tools ?? []).map((name) => ({ name })),
  };
}

/** A JSON HTTP client of one server. */
export interface TestClient {
  /** Sends a request; `T` is what the body is expected to be (not checked). */
  request<T = ErrorBody>(
    method: string,
    path: string,
    options?: { body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T }>;
}

/** The error answer, loosely. */
export interface ErrorBody {
  code: string;
  detail: unknown;
  [key: string]: unknown;
}

/** A stored event, loosely. */
export interface EventBody {
  id: string;
  kind: string;
  timestamp: string;
  source?: string;
  [key: string]: unknown;
}

/** An event page. */
export interface EventPageBody {
  items: EventBody[];
  next_page_id: string | null;
}

/** Sends JSON requests to the server with `apiKey` (`null`: without a key). */
export function testClient(server: FerryServer, apiKey: string | null = TEST_API_KEY): TestClient {
  return {
    async request<T>(
      method: string,
      path: string,
      options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
    ) {
      const headers: Record<string, string> = { ...options.headers };
      if (apiKey !== null) headers['x-session-api-key'] = apiKey;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed as T };
    },
  };
}

/**
 * Polls the conversation until its status is one of `statuses` and the log has recorded it
 * (the state changes just before its `ConversationStateUpdateEvent` is appended).
 */
export async function waitForStatus(
  client: TestClient,
  id: string,
  statuses: readonly string[],
  timeout = 20_000,
): Promise<ConversationInfo> {
  return vi.waitFor(
    async () => {
      const { body } = await client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
      if (!statuses.includes(body.execution_status)) {
        throw new Error(`status is ${body.execution_status}, waiting for ${statuses.join('/')}`);
      }
      const updates = await client.request<EventPageBody>(
        'GET',
        `/api/conversations/${id}/events/search?kind=ConversationStateUpdateEvent&sort_order=TIMESTAMP_DESC`,
      );
      const last = updates.body.items.find((event) => event.key === 'execution_status');
      if (last?.value !== body.execution_status) throw new Error('status not yet in the log');
      return body;
    },
    { timeout, interval: 20 },
  );
}

/**
 * Every event of a conversation, through the paged search route: as OpenHands' models allow
 * them, or with `full` exactly as stored (Ferry's own fields and `TeleportEvent`s).
 */
export async function allEvents(
  client: TestClient,
  id: string,
  options: { full?: boolean } = {},
): Promise<EventBody[]> {
  const events: EventBody[] = [];
  let pageId: string | null = null;
  const view = options.full === true ? '&ferry_events=full' : '';
  do {
    const query: string = (pageId === null ? '' : `&page_id=${pageId}`) + view;
    const { body } = await client.request<EventPageBody>(
      'GET',
      `/api/conversations/${id}/events/search?limit=100${query}`,
    );
    events.push(...body.items);
    pageId = body.next_page_id;
  } while (pageId !== null);
  return events;
}

/** Path -> content and mtime of every file under `root`, to prove nothing changed on disk. */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        snapshot[`${relative(root, path)}/`] = 'dir';
        await walk(path);
      } else {
        const [content, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
        snapshot[relative(root, path)] = `${info.mtimeMs}:${content}`;
      }
    }
  }
  await walk(root);
  return snapshot;
}

/** A scripted LLM that answers every request with `finish`. */
export function finishingLLM(): Promise<ScriptedLLMServer> {
  return startScriptedLLMServer({
    script: [],
    onExhausted: toolCall('finish', { message: 'done' }),
  });
}

/**
 * A database of the calling test file's own on the test PostgreSQL server (a throwaway server
 * when none answers), created before its tests and dropped after them. Returns its URL's getter.
 */
export function useTestDatabase(label: string): () => string {
  let server: TestPostgresServer | undefined;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
    database = await createTestDatabase(server.url, label);
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
    await server?.stop();
  });
  return () => {
    if (database === undefined) throw new Error('the test database is not ready yet');
    return database.url;
  };
}

/**
 * Where the server suites keep conversations: `files` (the default), or `postgres` when
 * `FERRY_TEST_STORE=postgres` (the `server-postgres` test project runs the route and socket
 * suites again that way, as `ferry-server --database-url` would).
 */
export const TEST_STORE = testStoreKind();

/**
 * The `startServer` options that put a test server's conversations in {@link TEST_STORE}: none
 * for files; for PostgreSQL a database of its own on the test server (a throwaway server when
 * none answers), dropped by `cleanups`.
 */
export async function testStoreOptions(
  cleanups: (() => void | Promise<void>)[],
): Promise<{ databaseUrl?: string }> {
  const store = await serverTestStore('server', TEST_STORE);
  if (store.database !== undefined) testDatabases.set(store.database.url, store.database);
  // Run last (cleanups run in reverse), after the server has closed its pool.
  cleanups.unshift(() => store.drop());
  return store.options;
}

const testDatabases = new Map<string, TestDatabase>();
const serverDatabases = new WeakMap<FerryServer, TestDatabase>();

/**
 * Everything a test server has stored, as text: every file under its data folder (path, mtime
 * and content) and, on PostgreSQL, every row of its database (see `TestDatabase.rows`). Equal
 * before and after a request that must change nothing; scanned for plaintext secrets.
 */
export async function storedData(server: FerryServer): Promise<string> {
  const files = JSON.stringify(await snapshotTree(server.dataDir));
  const database = serverDatabases.get(server);
  return database === undefined ? files : `${files}\n${await database.rows()}`;
}

/**
 * Starts a server on a free loopback port with its data and workspace root in a new temporary
 * folder and the test key, its conversations in {@link TEST_STORE}; `cleanups` gets what closes
 * the server and removes the folder.
 */
export async function startTestServer(
  cleanups: (() => void | Promise<void>)[],
  options: Partial<StartServerOptions> = {},
): Promise<FerryServer> {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const store = await testStoreOptions(cleanups);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
    apiKey: TEST_API_KEY,
    ...store,
    ...options,
  });
  const database = testDatabases.get(store.databaseUrl ?? '');
  if (database !== undefined) serverDatabases.set(server, database);
  cleanups.push(() => server.close());
  return server;
}
