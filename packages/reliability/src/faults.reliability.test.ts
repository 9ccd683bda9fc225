import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FerryError,
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  exportConversationBundle,
  importConversationBundle,
  type AgentInput,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { duplicateIds, historyProblems, unansweredActions } from './conversation-checks';
import { FaultyFileStore, type Fault, type FaultCode, type FaultMoment } from './faulty-file-store';
import { TASK_TOOLS, taskTurn } from './task-script';

const TASK = 'Write a.txt and b.txt, check them, and finish.';

let llm: ScriptedLLMServer;
let temporary: TemporaryDirectory;
let counter = 0;
let faultsInjected = 0;

beforeAll(async () => {
  llm = await startScriptedLLMServer({ respond: (request) => taskTurn(request) });
  temporary = await createTemporaryDirectory();
});
afterAll(async () => {
  console.info(`faults: ${faultsInjected} file system faults injected`);
  await llm?.close();
  await temporary?.[Symbol.asyncDispose]();
});

function agent(): AgentInput {
  return {
    llm: { model: 'fault-model', base_url: llm.baseUrl, api_key: 'fault-key', usage_id: 'fault' },
    tools: TASK_TOOLS,
  };
}

function folders() {
  counter += 1;
  const root = join(temporary.path, `case-${counter}`);
  return { data: join(root, 'data'), work: join(root, 'work'), copy: join(root, 'copy') };
}

/** Opens the persisted conversation with a plain store and checks its log and state. */
async function reopenAndCheck(data: string, conversationId: string, work: string) {
  const workspace = new LocalWorkspace({ workingDir: work });
  try {
    const conversation = await LocalConversation.open({
      conversationId,
      persistenceDir: data,
      workspace,
      agent: agent(),
      onWarning: () => undefined,
    });
    try {
      const events = [...conversation.events];
      return {
        conversation,
        workspace,
        duplicates: duplicateIds(events),
        // A run that failed mid-step is `error`, not `running`, so its unanswered action keeps
        // no recorded answer; the context stands in a "not executed" note (valid for the LLM).
        problems: historyProblems(events, conversation.agent, { recordedAnswers: false }),
        unanswered: unansweredActions(events).length,
        ids: events.map((event) => event.id),
      };
    } catch (error) {
      await conversation.close();
      throw error;
    }
  } catch (error) {
    await workspace.close();
    throw error;
  }
}

const CASES: Fault[] = [];
for (const code of ['ENOSPC', 'EIO', 'EACCES'] as FaultCode[]) {
  for (const moment of ['before', 'partial', 'fsync'] as FaultMoment[]) {
    for (const at of [1, 3, 6]) CASES.push({ operation: 'append', code, moment, at });
  }
  for (const moment of ['before', 'fsync'] as FaultMoment[]) {
    for (const at of [1, 2, 4]) CASES.push({ operation: 'writeAtomic', code, moment, at });
  }
  CASES.push({ operation: 'append', code, moment: 'before', at: 2, persistent: true });
  CASES.push({ operation: 'writeAtomic', code, moment: 'before', at: 2, persistent: true });
}

describe('faults: the disk fails under a running conversation', () => {
  it.each(
    CASES.map(
      (fault) =>
        [
          `${fault.operation} ${fault.code} ${fault.moment} #${fault.at}${fault.persistent ? ' (until healed)' : ''}`,
          fault,
        ] as const,
    ),
  )('%s: a typed error, a consistent disk, and it works once healed', async (_name, fault) => {
    const paths = folders();
    const store = new FaultyFileStore(new LocalFileStore({ root: paths.data }));
    const workspace = new LocalWorkspace({ workingDir: paths.work });
    const conversation = await LocalConversation.open({
      store,
      workspace,
      agent: agent(),
      onWarning: () => undefined,
    });
    const conversationId = conversation.id;
    const errors: unknown[] = [];
    const before = store.injected;
    store.arm(fault);
    try {
      await conversation.sendMessage(TASK);
      await conversation.run();
    } catch (error) {
      errors.push(error);
    }
    const injected = store.injected - before;
    faultsInjected += injected;
    expect(injected, 'the fault was hit').toBeGreaterThan(0);

    // The fault is reported: thrown, or (a tool's side file) told to the agent in the log.
    const logged = [...conversation.events].filter(
      (event) =>
        (event.kind === 'AgentErrorEvent' || event.kind === 'ConversationErrorEvent') &&
        JSON.stringify(event).includes(fault.code),
    );
    expect(errors.length + logged.length, 'the fault is reported').toBeGreaterThan(0);
    // Every fault reaches the caller as a typed error.
    for (const error of errors)
      expect(FerryError.isInstance(error), `not a FerryError: ${String(error)}`).toBe(true);

    // What is on disk at the moment of the failure is consistent: a process that died right
    // then (copied folder, its lock dropped) reopens with a valid log and state.
    const folder = conversationFolderName(conversationId);
    await cp(join(paths.data, folder), join(paths.copy, folder), { recursive: true });
    await rm(join(paths.copy, folder, '.lock'), { force: true });
    const snapshot = await reopenAndCheck(paths.copy, conversationId, paths.work);
    expect(snapshot.duplicates).toEqual([]);
    expect(snapshot.problems).toEqual([]);
    await snapshot.conversation.close();
    await snapshot.workspace.close();

    // Once the fault is gone the same conversation carries on...
    store.heal();
    // A message whose append failed was not sent: the user sends it again.
    const sent = [...conversation.events].some(
      (event) => event.kind === 'MessageEvent' && event.source === 'user',
    );
    if (!sent) await conversation.sendMessage(TASK);
    const status = await conversation.run().catch((error: unknown) => error);
    expect(status).toBe('finished');
    const liveIds = [...conversation.events].map((event) => event.id);
    await conversation.close();
    await workspace.close();

    // ...and what it wrote reopens whole.
    const reopened = await reopenAndCheck(paths.data, conversationId, paths.work);
    try {
      expect(reopened.duplicates).toEqual([]);
      expect(reopened.problems).toEqual([]);
      for (const id of liveIds) expect(reopened.ids).toContain(id);
      expect(reopened.conversation.status).toBe('finished');
    } finally {
      await reopened.conversation.close();
      await reopened.workspace.close();
    }
  });

  // Found by this suite: state write failures used to reach the caller as raw errno errors.
  it('a failed state write is reported as a FerryError', async () => {
    const paths = folders();
    const store = new FaultyFileStore(new LocalFileStore({ root: paths.data }));
    const workspace = new LocalWorkspace({ workingDir: paths.work });
    const conversation = await LocalConversation.open({ store, workspace, agent: agent() });
    try {
      await conversation.sendMessage(TASK);
      store.arm({ operation: 'writeAtomic', code: 'ENOSPC', moment: 'before', at: 1 });
      const failure = await conversation.run().catch((error: unknown) => error);
      faultsInjected += store.injected;
      expect(store.injected).toBe(1);
      const state = JSON.parse(
        await readFile(
          join(paths.data, conversationFolderName(conversation.id), 'base_state.json'),
          'utf8',
        ),
      ) as { execution_status: string };
      expect(state.execution_status).toBe('idle');
      expect(FerryError.isInstance(failure), `not a FerryError: ${String(failure)}`).toBe(true);
    } finally {
      store.heal();
      await conversation.close();
      await workspace.close();
    }
  });

  // Found by this suite: a failed rename during import used to escape as a raw errno error.
  it('import: a failed rename is reported as a FerryError', async () => {
    const paths = folders();
    const workspace = new LocalWorkspace({ workingDir: paths.work });
    const source = await LocalConversation.open({
      persistenceDir: paths.data,
      workspace,
      agent: agent(),
    });
    await source.sendMessage(TASK);
    await source.close();
    await workspace.close();
    const { stream } = await exportConversationBundle({
      store: new LocalFileStore({ root: join(paths.data, conversationFolderName(source.id)) }),
    });
    const target = new FaultyFileStore(new LocalFileStore({ root: paths.copy }));
    target.arm({ operation: 'rename', code: 'EIO', moment: 'before', at: 1 });
    const failure = await importConversationBundle({ source: stream, store: target }).catch(
      (error: unknown) => error,
    );
    faultsInjected += target.injected;
    expect(target.injected).toBe(1);
    expect(FerryError.isInstance(failure), `not a FerryError: ${String(failure)}`).toBe(true);
  });

  for (const code of ['ENOSPC', 'EIO', 'EACCES'] as FaultCode[]) {
    it(`import: a ${code} on rename leaves no half-imported conversation, and a retry works`, async () => {
      const paths = folders();
      const workspace = new LocalWorkspace({ workingDir: paths.work });
      const source = await LocalConversation.open({
        persistenceDir: paths.data,
        workspace,
        agent: agent(),
      });
      await source.sendMessage(TASK);
      expect(await source.run()).toBe('finished');
      const ids = [...source.events].map((event) => event.id);
      await source.close();
      await workspace.close();
      const { stream } = await exportConversationBundle({
        store: new LocalFileStore({ root: join(paths.data, conversationFolderName(source.id)) }),
      });
      const bundle = new Uint8Array(await buffer(stream));

      const target = new FaultyFileStore(new LocalFileStore({ root: paths.copy }));
      target.arm({ operation: 'rename', code, moment: 'before', at: 1 });
      const failure = await importConversationBundle({ source: bundle, store: target }).catch(
        (error: unknown) => error,
      );
      faultsInjected += target.injected;
      expect(target.injected).toBe(1);
      expect(failure).toBeInstanceOf(Error);
      expect(await target.exists(conversationFolderName(source.id))).toBe(false);

      target.heal();
      await importConversationBundle({ source: bundle, store: target });
      const imported = await reopenAndCheck(paths.copy, source.id, paths.work);
      try {
        expect(imported.ids).toEqual(ids);
        expect(imported.problems).toEqual([]);
      } finally {
        await imported.conversation.close();
        await imported.workspace.close();
      }
    });
  }
});
