import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  type AgentInput,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { LocalWorkspace } from '@ferry/workspace-local';
import { duplicateIds, historyProblems, unansweredActions } from './conversation-checks';
import { ReadOnlyToggleStore, type RefusalCode } from './server-read-only-store';
import {
  allEvents,
  call,
  conversationInfo,
  expectStatus,
  userMessageTexts,
  waitForStatus,
  type Answer,
} from './server-http';
import { TASK_TOOLS, taskTurn } from './task-script';

const TASK = 'Write a.txt and b.txt, check them, and finish.';
const SERVER_CHILD = fileURLToPath(new URL('./server-child.js', import.meta.url));

/**
 * Whether this machine lets the test give a server a private mount namespace in which its data
 * folder is a bind mount it can remount read-only (root with `unshare` and `nsenter`, as in
 * this project's sandbox and CI). Without it the real read-only case is skipped, saying so.
 */
function readOnlyMountAvailable(): boolean {
  const probe = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind / /mnt 2>/dev/null || mount -t tmpfs none /mnt',
    ],
    { stdio: 'ignore' },
  );
  return (
    probe.status === 0 && spawnSync('nsenter', ['--version'], { stdio: 'ignore' }).status === 0
  );
}
const REAL_MOUNT = readOnlyMountAvailable();
if (!REAL_MOUNT) {
  console.warn(
    'server faults: no private mount namespace here; the real read-only mount case is skipped',
  );
}
const STORAGE_CODES = [
  'STORAGE_UNAVAILABLE',
  'EVENT_LOG_WRITE_FAILED',
  'STATE_WRITE_FAILED',
  'BUNDLE_IMPORT_FAILED',
];

let llm: ScriptedLLMServer;
let temporary: TemporaryDirectory;
let counter = 0;
const figures = { refusedWrites: 0, answered503: 0, readsDuringFault: 0, realRemounts: 0 };

beforeAll(async () => {
  llm = await startScriptedLLMServer({ respond: (request) => taskTurn(request) });
  temporary = await createTemporaryDirectory();
});
afterAll(async () => {
  console.info(
    `server faults: ${figures.refusedWrites} writes refused, ${figures.answered503} requests ` +
      `answered 503, ${figures.readsDuringFault} reads served while the disk refused writes, ` +
      `${figures.realRemounts} real read-only remounts`,
  );
  await llm?.close();
  await temporary?.[Symbol.asyncDispose]();
});

function agent(model = 'server-fault-model'): AgentInput {
  return {
    llm: { model, base_url: llm.baseUrl, api_key: 'server-fault-key', usage_id: 'server-fault' },
    tools: TASK_TOOLS,
  };
}

function message(text: string, run = false) {
  return { role: 'user', content: [{ type: 'text', text }], run };
}

/** A server whose conversation writes go through a store the test can turn read-only. */
async function startFaultableServer(): Promise<{
  server: FerryServer;
  store: ReadOnlyToggleStore;
  dataDir: string;
}> {
  counter += 1;
  const dataDir = join(temporary.path, `server-${counter}`);
  const store = new ReadOnlyToggleStore(
    new LocalFileStore({ root: join(dataDir, 'conversations') }),
  );
  const server = await startServer({ port: 0, dataDir, conversationStore: store });
  return { server, store, dataDir };
}

/** Every file of a folder with the SHA-256 of its bytes, to prove nothing on disk changed. */
async function fingerprint(folder: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const entries = await readdir(folder, { recursive: true });
  for (const entry of entries.sort()) {
    const path = join(folder, entry);
    if (!(await stat(path)).isFile()) continue;
    result[relative(folder, path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return result;
}

/** The URL the server child prints once it listens (rejects when it exits first). */
async function listeningUrl(child: ChildProcess): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    if (line.startsWith('LISTENING ')) return line.slice('LISTENING '.length);
  }
  throw new Error(`the server child exited before listening: ${stderr}`);
}

/** Creates a conversation over HTTP with the task and runs it to `finished`. */
async function finishedConversation(url: string): Promise<string> {
  const created = await expectStatus(url, 201, 'POST', '/api/conversations', {
    agent: agent(),
    initial_message: message(TASK),
  });
  const id = (created.body as { id: string }).id;
  await expectStatus(url, 200, 'POST', `/api/conversations/${id}/run`);
  expect(await waitForStatus(url, id, ['finished', 'error'])).toBe('finished');
  return id;
}

/** A refused write as a user sees it: 503, a typed JSON error, `Retry-After`. */
function expectRefused(answer: Answer, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(503);
  const body = answer.body as { code?: string; detail?: unknown };
  expect(STORAGE_CODES, `${what}: code ${body.code}`).toContain(body.code);
  expect(typeof body.detail === 'string' && body.detail.length > 0, what).toBe(true);
  expect(answer.headers.get('retry-after'), what).toBe('5');
  figures.answered503 += 1;
}

/** Opens the persisted conversation with a plain store (the server closed) and checks it. */
async function reopenAndCheck(
  dataDir: string,
  id: string,
  work: string,
  options = { recordedAnswers: true },
) {
  const workspace = new LocalWorkspace({ workingDir: work });
  const conversation = await LocalConversation.open({
    conversationId: id,
    persistenceDir: join(dataDir, 'conversations'),
    workspace,
    agent: agent(),
    onWarning: () => undefined,
  });
  try {
    const events = [...conversation.events];
    return {
      status: conversation.status,
      ids: events.map((event) => event.id),
      duplicates: duplicateIds(events),
      problems: historyProblems(events, conversation.agent, options),
      unanswered: unansweredActions(events),
      messages: userMessageTexts(events),
    };
  } finally {
    await conversation.close();
    await workspace.close();
  }
}

describe('server faults: the data dir refuses writes under a running server', () => {
  it.each<RefusalCode>(['EROFS', 'ENOSPC', 'EIO'])(
    '%s: writes answer 503, reads work, nothing is lost, and it recovers',
    async (code) => {
      const { server, store, dataDir } = await startFaultableServer();
      const url = server.url;
      let closed = false;
      try {
        const id = await finishedConversation(url);
        const folder = join(dataDir, 'conversations', conversationFolderName(id));
        const eventsBefore = await allEvents(url, id);
        const diskBefore = await fingerprint(folder);
        const newId = randomUUID();
        const retried = `retried while ${code}`;

        store.refuse(code);
        const refusedBefore = store.refused;
        const writes: [string, string, string, unknown][] = [
          [
            'create',
            'POST',
            '/api/conversations',
            { conversation_id: newId, agent: agent(), initial_message: message(TASK) },
          ],
          ['send message', 'POST', `/api/conversations/${id}/events`, message(retried)],
          ['run', 'POST', `/api/conversations/${id}/run`, undefined],
          ['patch', 'PATCH', `/api/conversations/${id}`, { title: 'renamed' }],
          ['replace agent', 'PUT', `/api/conversations/${id}/agent`, { agent: agent('other') }],
          ['pause', 'POST', `/api/conversations/${id}/pause`, undefined],
        ];
        for (const [what, method, path, body] of writes) {
          expectRefused(await call(url, method, path, body), what);
        }
        figures.refusedWrites += store.refused - refusedBefore;
        expect(store.refused - refusedBefore).toBeGreaterThanOrEqual(writes.length);

        // Reads keep working and show exactly what was there.
        const info = await conversationInfo(url, id);
        expect(info.execution_status).toBe('finished');
        expect(info.title).not.toBe('renamed');
        expect(await allEvents(url, id)).toEqual(eventsBefore);
        const count = await expectStatus(url, 200, 'GET', `/api/conversations/${id}/events/count`);
        expect(count.body).toBe(eventsBefore.length);
        const listed = await expectStatus(url, 200, 'GET', '/api/conversations/search');
        const listedIds = (listed.body as { items: { id: string }[] }).items.map((item) => item.id);
        expect(listedIds).toContain(id);
        expect(listedIds).not.toContain(newId);
        expect((await call(url, 'GET', `/api/conversations/${newId}`)).status).toBe(404);
        figures.readsDuringFault += 6;
        // Nothing already written changed on disk, and nothing half-made was left.
        expect(await fingerprint(folder)).toEqual(diskBefore);
        expect(await readdir(join(dataDir, 'conversations'))).toEqual([conversationFolderName(id)]);

        // The disk is back: the same requests succeed and both conversations finish.
        store.heal();
        await expectStatus(url, 201, 'POST', '/api/conversations', {
          conversation_id: newId,
          agent: agent(),
          initial_message: message(TASK),
        });
        await expectStatus(url, 200, 'POST', `/api/conversations/${id}/events`, message(retried));
        await expectStatus(url, 200, 'PATCH', `/api/conversations/${id}`, { title: 'renamed' });
        await expectStatus(url, 200, 'PUT', `/api/conversations/${id}/agent`, {
          agent: agent('other'),
        });
        await expectStatus(url, 200, 'POST', `/api/conversations/${id}/pause`);
        expect((await conversationInfo(url, id)).execution_status).toBe('paused');
        await expectStatus(url, 200, 'POST', `/api/conversations/${id}/run`);
        await expectStatus(url, 200, 'POST', `/api/conversations/${newId}/run`);
        expect(await waitForStatus(url, id, ['finished', 'error'])).toBe('finished');
        expect(await waitForStatus(url, newId, ['finished', 'error'])).toBe('finished');

        const eventsAfter = await allEvents(url, id);
        expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
        expect(duplicateIds(eventsAfter)).toEqual([]);
        expect(userMessageTexts(eventsAfter)).toEqual([TASK, retried]);
        expect((await conversationInfo(url, id)).title).toBe('renamed');

        await server.close();
        closed = true;
        for (const [conversationId, messages] of [
          [id, [TASK, retried]],
          [newId, [TASK]],
        ] as const) {
          const reopened = await reopenAndCheck(dataDir, conversationId, temporary.path);
          expect(reopened.status).toBe('finished');
          expect(reopened.duplicates).toEqual([]);
          expect(reopened.problems).toEqual([]);
          expect(reopened.messages).toEqual(messages);
        }
      } finally {
        store.heal();
        if (!closed) await server.close();
      }
    },
  );

  it('a disk that turns read-only mid-run: the run stops, and it finishes once the disk is back', async () => {
    const { server, store, dataDir } = await startFaultableServer();
    const url = server.url;
    let closed = false;
    try {
      const created = await expectStatus(url, 201, 'POST', '/api/conversations', {
        agent: agent(),
        initial_message: message(TASK),
      });
      const id = (created.body as { id: string }).id;
      const requestsBefore = llm.requests.length;
      await expectStatus(url, 200, 'POST', `/api/conversations/${id}/run`);
      // The third LLM request asks for the slow terminal step: the disk goes read-only during it.
      await llm.waitForRequest(requestsBefore + 3);
      const eventsBefore = await allEvents(url, id);
      store.refuse('EROFS');
      const refusedBefore = store.refused;

      // The run stops on the refused write; until then a new run is refused as running (409).
      let answer: Answer | undefined;
      for (let attempt = 0; attempt < 600; attempt += 1) {
        answer = await call(url, 'POST', `/api/conversations/${id}/run`);
        if (answer.status !== 409) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expectRefused(answer as Answer, 'run after the run stopped');
      // The run is over, though its end could not be written: the server says so.
      const during = await call(url, 'GET', `/api/conversations/${id}`);
      expect((during.body as { execution_status: string }).execution_status).toBe('error');
      figures.refusedWrites += store.refused - refusedBefore;
      const eventsDuring = await allEvents(url, id);
      expect(eventsDuring.slice(0, eventsBefore.length)).toEqual(eventsBefore);

      store.heal();
      await expectStatus(url, 200, 'POST', `/api/conversations/${id}/run`);
      expect(await waitForStatus(url, id, ['finished', 'error'])).toBe('finished');
      const eventsAfter = await allEvents(url, id);
      expect(eventsAfter.slice(0, eventsDuring.length)).toEqual(eventsDuring);
      expect(duplicateIds(eventsAfter)).toEqual([]);

      await server.close();
      closed = true;
      // The action in flight when the disk turned read-only could not get its answer then; the
      // next run recorded one (its result is unknown), so every action is answered.
      const reopened = await reopenAndCheck(dataDir, id, temporary.path);
      expect(reopened.status).toBe('finished');
      expect(reopened.duplicates).toEqual([]);
      expect(reopened.problems).toEqual([]);
      expect(reopened.unanswered).toEqual([]);
      expect(reopened.messages).toEqual([TASK]);
    } finally {
      store.heal();
      if (!closed) await server.close();
    }
  });

  it.skipIf(!REAL_MOUNT)(
    'a real read-only mount (EROFS from the kernel): 503, reads work, and it recovers once writable',
    async () => {
      counter += 1;
      const dataDir = join(temporary.path, `mounted-${counter}`);
      await mkdir(dataDir, { recursive: true });
      // The server runs in its own mount namespace, where its data folder is a bind mount.
      const child = spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount --bind "$1" "$1" && exec "$2" "$3" "$1"',
          'sh',
          dataDir,
          process.execPath,
          SERVER_CHILD,
        ],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const remount = (mode: 'ro' | 'rw') => {
        const result = spawnSync('nsenter', [
          '-t',
          String(child.pid),
          '-m',
          'mount',
          '-o',
          `remount,bind,${mode}`,
          dataDir,
        ]);
        expect(result.status, result.stderr.toString()).toBe(0);
        figures.realRemounts += 1;
      };
      try {
        const url = await listeningUrl(child);
        const id = await finishedConversation(url);
        const folder = join(dataDir, 'conversations', conversationFolderName(id));
        const eventsBefore = await allEvents(url, id);
        const diskBefore = await fingerprint(folder);
        const retried = 'retried after the remount';

        remount('ro');
        const writes: [string, string, string, unknown][] = [
          [
            'create',
            'POST',
            '/api/conversations',
            { agent: agent(), initial_message: message(TASK) },
          ],
          ['send message', 'POST', `/api/conversations/${id}/events`, message(retried)],
          ['run', 'POST', `/api/conversations/${id}/run`, undefined],
          ['patch', 'PATCH', `/api/conversations/${id}`, { title: 'renamed' }],
          ['replace agent', 'PUT', `/api/conversations/${id}/agent`, { agent: agent('other') }],
        ];
        for (const [what, method, path, body] of writes) {
          expectRefused(await call(url, method, path, body), `${what} (real EROFS)`);
        }
        expect(await allEvents(url, id)).toEqual(eventsBefore);
        expect((await conversationInfo(url, id)).execution_status).toBe('finished');
        figures.readsDuringFault += 2;
        expect(await fingerprint(folder)).toEqual(diskBefore);
        expect(await readdir(join(dataDir, 'conversations'))).toEqual([conversationFolderName(id)]);

        remount('rw');
        await expectStatus(url, 200, 'POST', `/api/conversations/${id}/events`, message(retried));
        await expectStatus(url, 200, 'PATCH', `/api/conversations/${id}`, { title: 'renamed' });
        await expectStatus(url, 200, 'PUT', `/api/conversations/${id}/agent`, {
          agent: agent('other'),
        });
        await expectStatus(url, 200, 'POST', `/api/conversations/${id}/run`);
        expect(await waitForStatus(url, id, ['finished', 'error'])).toBe('finished');
        const other = await finishedConversation(url);
        const eventsAfter = await allEvents(url, id);
        expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
        expect(duplicateIds(eventsAfter)).toEqual([]);
        expect(userMessageTexts(eventsAfter)).toEqual([TASK, retried]);

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        const reopened = await reopenAndCheck(dataDir, id, temporary.path);
        expect(reopened.status).toBe('finished');
        expect(reopened.problems).toEqual([]);
        expect(reopened.messages).toEqual([TASK, retried]);
        expect((await reopenAndCheck(dataDir, other, temporary.path)).status).toBe('finished');
      } finally {
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    },
  );
});
