import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  conversationFolderName,
  FileConversationStore,
  LocalConversation,
  type ConversationStore,
  type StoredEvent,
} from '@ferry/sdk-core';
import { PostgresStore } from '@ferry/store-postgres';
import { createTestDatabase, startTestPostgres } from '@ferry/store-postgres/testing';
import { generateEvents } from '../fixtures/generate-events';
import { benchAgent, benchWorkspace } from '../fixtures/write-fixtures';
import { elapsedMs, percentile, summarize, type Summary } from '../harness/stats';

/** Appends/s and per-append latency of one store over the repetitions. */
export interface StoreAppendFigures {
  perSecond: Summary;
  p50Ms: Summary;
  p99Ms: Summary;
}

/** What the stores suite measured. */
export interface StoresSuiteResult {
  /** The PostgreSQL server (without password) and whether the suite started a throwaway one. */
  server: { location: string; throwaway: boolean; version: string };
  appends: number;
  appendRepetitions: number;
  file: StoreAppendFigures;
  postgres: StoreAppendFigures;
  /** PostgresStore's appends/s over the file store's, per repetition. */
  postgresOverFile: Summary;
  resumeEvents: number;
  resumeRepetitions: number;
  /** `LocalConversation.open` with a runtime agent, ms: lease, state, verification, every event read and checked. */
  resumeFileMs: Summary;
  resumePostgresMs: Summary;
  /** The floor: read the file store's segment bytes and `JSON.parse` each line. */
  resumeFloorMs: Summary;
  resumePostgresOverFloor: Summary;
  resumeFileOverFloor: Summary;
}

export interface StoresSize {
  appends: number;
  appendRepetitions: number;
  resumeEvents: number;
  resumeRepetitions: number;
}

async function appendRun(store: ConversationStore, events: readonly StoredEvent[]) {
  const id = randomUUID();
  const lease = await store.acquireLease(id);
  try {
    await store.writeState(lease, { id, execution_status: 'idle' });
    const latencies: number[] = [];
    const start = process.hrtime.bigint();
    for (const event of events) {
      const appendStart = process.hrtime.bigint();
      await store.appendEvents(lease, [event]);
      latencies.push(elapsedMs(appendStart));
    }
    const totalMs = elapsedMs(start);
    return {
      perSecond: latencies.length / (totalMs / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await store.releaseLease(lease);
  }
}

/** Writes a conversation (created by `LocalConversation.open`) holding `events`; returns its id. */
async function writeConversation(store: ConversationStore, events: readonly StoredEvent[]) {
  const conversation = await LocalConversation.open({
    store,
    agent: benchAgent(),
    workspace: benchWorkspace,
    onWarning: () => undefined,
  });
  const id = conversation.id;
  await conversation.close();
  const lease = await store.acquireLease(id);
  try {
    for (let index = 0; index < events.length; index += 500) {
      await store.appendEvents(lease, events.slice(index, index + 500));
    }
  } finally {
    await store.releaseLease(lease);
  }
  return id;
}

/** A resume, in this process: `LocalConversation.open` with a runtime agent, every event read and checked. */
async function resumeOnce(store: ConversationStore, id: string, expected: number): Promise<number> {
  const start = process.hrtime.bigint();
  const conversation = await LocalConversation.open({
    store,
    conversationId: id,
    agent: benchAgent(),
    workspace: benchWorkspace,
  });
  const ms = elapsedMs(start);
  const count = conversation.events.length;
  await conversation.close();
  if (count !== expected) throw new Error(`resumed ${count} of ${expected} events`);
  return ms;
}

async function floorOnce(folder: string, expected: number): Promise<number> {
  const start = process.hrtime.bigint();
  // The segments only: `events/` also holds the log's index (`index.json`).
  const segments = (await readdir(join(folder, 'events')))
    .filter((name) => /^segment-\d+\.jsonl$/.test(name))
    .sort();
  let count = 0;
  for (const segment of segments) {
    const text = await readFile(join(folder, 'events', segment), 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      JSON.parse(line);
      count += 1;
    }
  }
  if (count !== expected) throw new Error(`parsed ${count} of ${expected} lines`);
  return elapsedMs(start);
}

function summarizeRuns(runs: readonly { perSecond: number; p50Ms: number; p99Ms: number }[]) {
  return {
    perSecond: summarize(runs.map((run) => run.perSecond)),
    p50Ms: summarize(runs.map((run) => run.p50Ms)),
    p99Ms: summarize(runs.map((run) => run.p99Ms)),
  };
}

/**
 * The same realistic events through the file store (fsync on) and `PostgresStore`, in one run:
 * durable appends one at a time, each awaited; then resuming a conversation of `resumeEvents`
 * events (`LocalConversation.open`, in this process) from each store beside the read+parse floor. Uses the PostgreSQL at
 * `FERRY_BENCH_DATABASE_URL` (else `FERRY_TEST_DATABASE_URL`, else 127.0.0.1:5432), or starts a
 * throwaway one when none answers; the benchmark's database is dropped afterwards.
 */
export async function runStoresSuite(options: {
  workDir: string;
  size: StoresSize;
  log: (message: string) => void;
}): Promise<StoresSuiteResult> {
  const { size, log } = options;
  const server = await startTestPostgres({
    url: process.env.FERRY_BENCH_DATABASE_URL ?? process.env.FERRY_TEST_DATABASE_URL,
  });
  try {
    const database = await createTestDatabase(server.url, 'bench');
    const postgres = await PostgresStore.connect({ connectionString: database.url });
    const root = join(options.workDir, 'stores');
    await mkdir(root, { recursive: true });
    const file = new FileConversationStore({ root });
    try {
      const version = await postgresVersion(database.url);
      const events = generateEvents({ count: size.appends, seed: 42 });
      const fileRuns = [];
      const postgresRuns = [];
      for (let repetition = 0; repetition < size.appendRepetitions; repetition += 1) {
        // Fresh ids per run: a log refuses an event id twice.
        const batch = events.map((event) => ({ ...event, id: randomUUID() }));
        if (repetition % 2 === 0) {
          fileRuns.push(await appendRun(file, batch));
          postgresRuns.push(await appendRun(postgres, batch));
        } else {
          postgresRuns.push(await appendRun(postgres, batch));
          fileRuns.push(await appendRun(file, batch));
        }
        log(`stores append: repetition ${repetition + 1}/${size.appendRepetitions}`);
      }

      const history = generateEvents({ count: size.resumeEvents, seed: 7 });
      const fileId = await writeConversation(file, history);
      const postgresId = await writeConversation(postgres, history);
      const folder = join(root, conversationFolderName(fileId));
      const resumeFile: number[] = [];
      const resumePostgres: number[] = [];
      const floor: number[] = [];
      for (let repetition = 0; repetition < size.resumeRepetitions; repetition += 1) {
        resumeFile.push(await resumeOnce(file, fileId, history.length));
        resumePostgres.push(await resumeOnce(postgres, postgresId, history.length));
        floor.push(await floorOnce(folder, history.length));
        log(`stores resume: repetition ${repetition + 1}/${size.resumeRepetitions}`);
      }
      const ratio = (top: number[], bottom: number[]) =>
        summarize(top.map((value, index) => value / (bottom[index] ?? NaN)));
      return {
        server: { location: postgres.describe(), throwaway: server.throwaway, version },
        appends: size.appends,
        appendRepetitions: size.appendRepetitions,
        file: summarizeRuns(fileRuns),
        postgres: summarizeRuns(postgresRuns),
        postgresOverFile: ratio(
          postgresRuns.map((run) => run.perSecond),
          fileRuns.map((run) => run.perSecond),
        ),
        resumeEvents: size.resumeEvents,
        resumeRepetitions: size.resumeRepetitions,
        resumeFileMs: summarize(resumeFile),
        resumePostgresMs: summarize(resumePostgres),
        resumeFloorMs: summarize(floor),
        resumePostgresOverFloor: ratio(resumePostgres, floor),
        resumeFileOverFloor: ratio(resumeFile, floor),
      };
    } finally {
      await file.close();
      await postgres.close();
      await database.drop();
    }
  } finally {
    await server.stop();
  }
}

async function postgresVersion(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}
