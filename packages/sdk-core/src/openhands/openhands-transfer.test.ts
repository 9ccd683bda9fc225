import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { LocalConversation } from '../conversation/local-conversation';
import { conversationFolderName } from '../store/conversation-id';
import { ConversationExistsError } from '../errors/conversation-exists-error';
import { OpenHandsConversationFormatError } from '../errors/openhands-conversation-format-error';
import { OpenHandsEventFileError } from '../errors/openhands-event-file-error';
import { LocalFileStore } from '../persistence/local-file-store';
import { createTemporaryDirectory, startScriptedLLMServer, text, toolCall } from '../testing/index';
import { exportOpenHandsConversation } from './export-openhands';
import { importOpenHandsConversation } from './import-openhands';
import { openHandsModelProblems, openHandsReferenceModels } from '../testing/openhands-reference';
import {
  openHandsFixtures,
  readOpenHandsFolderEvents,
  readTree,
  writeOpenHandsFolder,
} from './openhands-test-support';
import { readFerryConversation } from './read-ferry-conversation';

const SECRET = 'sk-oh-transfer-secret-4711';

function agentFor(baseUrl: string, model = 'scripted-model'): AgentInput {
  return {
    llm: { model, base_url: baseUrl, api_key: SECRET, temperature: 0 },
    tools: [{ name: 'task_tracker' }],
  };
}

function workspaceOf(dir: string) {
  return { kind: 'LocalWorkspace', workingDir: dir };
}

function readFerry(persistenceDir: string, id: string) {
  return readFerryConversation(
    new LocalFileStore({ root: persistenceDir }).scope(conversationFolderName(id)),
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A conversation Ferry ran with tool calls, reasoning, a changed agent and a teleport hop. */
async function ferryConversation(persistenceDir: string, workingDir: string): Promise<string> {
  await using llm = await startScriptedLLMServer({
    script: [
      toolCall('think', { thought: 'Plan first.' }, { reasoning: 'I should plan.' }),
      toolCall('task_tracker', {
        command: 'plan',
        task_list: [{ title: 'write the report', status: 'in_progress' }],
      }),
      toolCall('finish', { message: 'Planned.' }),
    ],
  });
  const first = await LocalConversation.open({
    agent: agentFor(llm.baseUrl),
    workspace: workspaceOf(workingDir),
    persistenceDir,
    onWarning: () => undefined,
  });
  await first.sendMessage('Please plan the report.');
  expect(await first.run()).toBe('finished');
  await first.updateMetadata({ title: 'Report plan', tags: { team: 'docs', 'Not OK': 'x' } });
  await first.close();

  // Resumed with another model: an agent update with its Ferry-only `changes`, then a hop.
  const second = await LocalConversation.open({
    agent: agentFor(llm.baseUrl, 'other-model'),
    workspace: workspaceOf(workingDir),
    persistenceDir,
    conversationId: first.id,
    onWarning: () => undefined,
  });
  await second.recordArrival({ from: 'http://127.0.0.1:1', to: 'local', bundleId: 'bundle-7' });
  await second.close();
  return first.id;
}

describe('OpenHands conversations: import and export', { timeout: 60_000 }, () => {
  // Python parses the reference models once: seconds on a busy machine.
  beforeAll(() => void openHandsReferenceModels(), 120_000);

  it('imports the real OpenHands fixtures with every field, and exports them back as they were', async () => {
    await using dir = await createTemporaryDirectory();
    const { baseState, events } = await openHandsFixtures();
    const source = await writeOpenHandsFolder({
      root: join(dir.path, 'openhands'),
      baseState,
      events,
      meta: { id: baseState.id, title: 'Review PR 3745', tags: { team: 'sdk' } },
    });
    const progress: unknown[] = [];
    const imported = await importOpenHandsConversation({
      from: source,
      persistenceDir: join(dir.path, 'ferry'),
      onProgress: (step) => progress.push(step),
    });
    expect(imported).toMatchObject({
      conversationId: '11111111-2222-3333-4444-555555555555',
      events: events.length,
      unknownKinds: [],
      restoredFerryFields: false,
    });
    expect(progress.at(-1)).toEqual({ events: events.length, totalEvents: events.length });

    const ferry = await readFerry(join(dir.path, 'ferry'), imported.conversationId);
    expect(ferry.events).toEqual(events);
    expect(ferry.state).toMatchObject({
      id: baseState.id,
      title: 'Review PR 3745',
      tags: { team: 'sdk' },
      agent: { llm: { model: 'gpt-4o-mini', usage_id: 'test-llm' }, kind: 'Agent' },
      agent_state: {},
      persistence_dir: imported.location,
    });

    const exported = await exportOpenHandsConversation({
      persistenceDir: join(dir.path, 'ferry'),
      conversationId: imported.conversationId,
      to: join(dir.path, 'openhands-again'),
    });
    const files = await readOpenHandsFolderEvents(exported.location);
    // The sample starts mid-conversation, without OpenHands' system prompt event: one is added.
    expect(files[0]?.event).toMatchObject({ kind: 'SystemPromptEvent', tools: [] });
    expect(files.slice(1).map((file) => file.event)).toEqual(events);
    for (const { name, event } of files) expect(openHandsModelProblems(event), name).toEqual([]);

    // Back into Ferry once more: the added event goes, the rest is unchanged.
    const again = await importOpenHandsConversation({
      from: exported.location,
      persistenceDir: join(dir.path, 'ferry-again'),
    });
    expect(again.restoredFerryFields).toBe(true);
    expect((await readFerry(join(dir.path, 'ferry-again'), again.conversationId)).events).toEqual(
      events,
    );
  });

  it('resumes a conversation OpenHands wrote and runs it with its history', async () => {
    await using dir = await createTemporaryDirectory();
    const { baseState, events } = await openHandsFixtures();
    const source = await writeOpenHandsFolder({ root: join(dir.path, 'oh'), baseState, events });
    const { conversationId } = await importOpenHandsConversation({
      from: source,
      persistenceDir: join(dir.path, 'ferry'),
    });
    await using llm = await startScriptedLLMServer({ script: [text('Review posted.')] });
    const conversation = await LocalConversation.open({
      // OpenHands' agent, with this side's model and key; its tools stay as they were.
      agent: {
        ...(baseState.agent as AgentInput),
        llm: { model: 'scripted-model', base_url: llm.baseUrl, api_key: SECRET },
        condenser: null,
      },
      workspace: workspaceOf(dir.path),
      persistenceDir: join(dir.path, 'ferry'),
      conversationId,
      onWarning: () => undefined,
    });
    try {
      await conversation.sendMessage('Post the review.');
      expect(await conversation.run()).toBe('finished');
      const messages = llm.requests[0]?.messages ?? [];
      const firstAction = events.find((event) => event.kind === 'ActionEvent') as {
        tool_call_id: string;
      };
      // The history OpenHands recorded reaches the model: its tool call and its result.
      expect(messages).toContainEqual(
        expect.objectContaining({ role: 'tool', tool_call_id: firstAction.tool_call_id }),
      );
      expect(messages.at(-1)).toMatchObject({ role: 'user' });
    } finally {
      await conversation.close();
    }
  });

  it('keeps events of kinds Ferry does not know, and exports them unchanged', async () => {
    await using dir = await createTemporaryDirectory();
    const { baseState, events } = await openHandsFixtures();
    const hook = {
      id: '0d4a6f2e-9a55-4b8e-8d1f-3c2b1a000001',
      timestamp: '2026-06-16T05:40:00.000001',
      source: 'hook',
      hook_event_type: 'PreToolUse',
      hook_command: 'echo ok',
      success: true,
      blocked: false,
      kind: 'HookExecutionEvent',
    };
    const source = await writeOpenHandsFolder({
      root: join(dir.path, 'openhands'),
      baseState,
      events: [...events.slice(0, 2), hook, ...events.slice(2)],
    });
    const imported = await importOpenHandsConversation({
      from: source,
      persistenceDir: join(dir.path, 'ferry'),
    });
    expect(imported.unknownKinds).toEqual(['HookExecutionEvent']);
    const exported = await exportOpenHandsConversation({
      persistenceDir: join(dir.path, 'ferry'),
      conversationId: imported.conversationId,
      to: join(dir.path, 'back'),
    });
    const files = await readOpenHandsFolderEvents(exported.location);
    expect(files.map((file) => file.event)).toContainEqual(hook);
    expect(openHandsModelProblems(hook)).toEqual([]);
  });

  it('exports a conversation Ferry ran so that every event fits OpenHands, and imports it back equal', async () => {
    await using dir = await createTemporaryDirectory();
    const persistenceDir = join(dir.path, 'ferry');
    const id = await ferryConversation(persistenceDir, dir.path);
    const original = await readFerry(persistenceDir, id);
    const ferryKinds = new Set(original.events.map((event) => event.kind));
    expect(ferryKinds).toEqual(
      new Set([
        'MessageEvent',
        'ActionEvent',
        'ObservationEvent',
        'ConversationStateUpdateEvent',
        'TeleportEvent',
      ]),
    );
    // The Ferry-only fields an export has to leave out are really there.
    const serialized = JSON.stringify(original.events);
    for (const field of ['llm_provider', 'reasoning_parts', '"changes"']) {
      expect(serialized).toContain(field);
    }

    const exported = await exportOpenHandsConversation({
      persistenceDir,
      conversationId: id,
      to: join(dir.path, 'openhands'),
    });
    expect(exported).toMatchObject({
      location: join(dir.path, 'openhands', conversationFolderName(id)),
      events: original.events.length + 1,
      eventsReplaced: 1,
      systemPromptAdded: true,
    });
    expect(exported.eventsWithFieldsRemoved).toBeGreaterThan(3);

    const files = await readOpenHandsFolderEvents(exported.location);
    expect(files.map((file) => file.name)).toEqual(
      files.map(
        (file, index) => `event-${String(index).padStart(5, '0')}-${String(file.event.id)}.json`,
      ),
    );
    expect(files[0]?.event).toMatchObject({
      kind: 'SystemPromptEvent',
      source: 'agent',
      system_prompt: { type: 'text' },
    });
    for (const { name, event } of files) expect(openHandsModelProblems(event), name).toEqual([]);
    expect(files.map((file) => file.event)).toContainEqual(
      expect.objectContaining({
        kind: 'ConversationStateUpdateEvent',
        key: 'ferry_teleport',
        value: { from: 'http://127.0.0.1:1', to: 'local', bundle_id: 'bundle-7' },
      }),
    );

    const tree = await readTree(exported.location);
    const openHandsFiles = [...tree].filter(([path]) => path !== 'ferry-export.json');
    for (const [path, content] of tree) expect(content, path).not.toContain(SECRET);
    for (const [path, content] of openHandsFiles) {
      for (const field of ['llm_provider', 'reasoning_parts', '"changes"', '"teleport"']) {
        expect(content, path).not.toContain(field);
      }
    }
    const baseState = JSON.parse(tree.get('base_state.json') ?? '') as Record<string, unknown>;
    expect(baseState).toMatchObject({
      id,
      persistence_dir: exported.location,
      execution_status: 'finished',
      tags: { team: 'docs' },
      agent: { llm: { model: 'other-model', api_key: '**********' } },
    });
    expect(baseState).not.toHaveProperty('title');
    expect(JSON.parse(tree.get('meta.json') ?? '')).toMatchObject({
      id,
      title: 'Report plan',
      tags: { team: 'docs' },
      workspace: { kind: 'LocalWorkspace', working_dir: dir.path },
    });
    expect(tree.get('TASKS.json')).toContain('write the report');

    const imported = await importOpenHandsConversation({
      from: exported.location,
      persistenceDir: join(dir.path, 'ferry-again'),
    });
    expect(imported).toMatchObject({ conversationId: id, restoredFerryFields: true });
    const back = await readFerry(join(dir.path, 'ferry-again'), id);
    expect(back.events).toEqual(original.events);
    expect(back.state).toEqual({ ...original.state, persistence_dir: imported.location });
    expect(await readFile(join(imported.location, 'TASKS.json'), 'utf8')).toContain(
      'write the report',
    );
  });

  it('restores what the export took out even after OpenHands appended events', async () => {
    await using dir = await createTemporaryDirectory();
    const id = await ferryConversation(join(dir.path, 'ferry'), dir.path);
    const original = await readFerry(join(dir.path, 'ferry'), id);
    const exported = await exportOpenHandsConversation({
      persistenceDir: join(dir.path, 'ferry'),
      conversationId: id,
      to: join(dir.path, 'openhands'),
    });
    // OpenHands carried on: a user message, as its EventLog writes it (zone-less timestamp).
    const appended = {
      id: 'a2f1c3d4-0000-4000-8000-000000000001',
      timestamp: '2026-06-16T06:00:00.123456',
      source: 'user',
      parent_id: null,
      llm_message: { role: 'user', content: [{ type: 'text', text: 'One more thing.' }] },
      activated_skills: [],
      extended_content: [],
      kind: 'MessageEvent',
    };
    expect(openHandsModelProblems(appended)).toEqual([]);
    await writeFile(
      join(
        exported.location,
        'events',
        `event-${String(exported.events).padStart(5, '0')}-${appended.id}.json`,
      ),
      JSON.stringify(appended),
    );
    const imported = await importOpenHandsConversation({
      from: exported.location,
      persistenceDir: join(dir.path, 'ferry-again'),
    });
    expect((await readFerry(join(dir.path, 'ferry-again'), id)).events).toEqual([
      ...original.events,
      appended,
    ]);
    expect(imported.events).toBe(original.events.length + 1);
  });

  it('resumes and runs an imported conversation with its history', async () => {
    await using dir = await createTemporaryDirectory();
    const id = await ferryConversation(join(dir.path, 'ferry'), dir.path);
    const exported = await exportOpenHandsConversation({
      persistenceDir: join(dir.path, 'ferry'),
      conversationId: id,
      to: join(dir.path, 'openhands'),
    });
    // The same files without Ferry's record and meta.json: what a user moving from OpenHands has.
    const plain = join(dir.path, 'plain', conversationFolderName(id));
    await writeOpenHandsFolder({
      root: join(dir.path, 'plain'),
      baseState: JSON.parse(
        await readFile(join(exported.location, 'base_state.json'), 'utf8'),
      ) as Record<string, unknown>,
      events: (await readOpenHandsFolderEvents(exported.location)).map((file) => file.event),
    });
    const imported = await importOpenHandsConversation({
      from: plain,
      persistenceDir: join(dir.path, 'ferry-again'),
    });
    expect(imported.restoredFerryFields).toBe(false);

    await using llm = await startScriptedLLMServer({ script: [text('The plan stands.')] });
    const conversation = await LocalConversation.open({
      agent: agentFor(llm.baseUrl),
      workspace: workspaceOf(dir.path),
      persistenceDir: join(dir.path, 'ferry-again'),
      conversationId: id,
      onWarning: () => undefined,
    });
    try {
      await conversation.sendMessage('Is the plan still good?');
      expect(await conversation.run()).toBe('finished');
      const request = JSON.stringify(llm.requests[0]?.messages);
      expect(request).toContain('Please plan the report.');
      expect(request).toContain('Is the plan still good?');
      expect(conversation.events.at(-1)).toMatchObject({
        kind: 'ConversationStateUpdateEvent',
        key: 'execution_status',
      });
    } finally {
      await conversation.close();
    }
  });

  describe('refuses bad input, writing nothing', () => {
    it('a folder that is not an OpenHands conversation', async () => {
      await using dir = await createTemporaryDirectory();
      await mkdir(join(dir.path, 'empty'));
      const persistenceDir = join(dir.path, 'ferry');
      const missing = await rejection(
        importOpenHandsConversation({ from: join(dir.path, 'empty'), persistenceDir }),
      );
      expect(missing).toBeInstanceOf(OpenHandsConversationFormatError);
      expect(missing).toMatchObject({
        code: 'OPENHANDS_CONVERSATION_FORMAT',
        path: join(dir.path, 'empty'),
        message: expect.stringContaining('has no base_state.json') as string,
      });
      await writeFile(join(dir.path, 'empty', 'base_state.json'), '{"id": 3}');
      expect(
        await rejection(
          importOpenHandsConversation({ from: join(dir.path, 'empty'), persistenceDir }),
        ),
      ).toMatchObject({ path: join(dir.path, 'empty', 'base_state.json') });
      expect(
        await rejection(
          importOpenHandsConversation({ from: join(dir.path, 'nowhere'), persistenceDir }),
        ),
      ).toBeInstanceOf(OpenHandsConversationFormatError);
      expect(await readdir(dir.path)).toEqual(['empty']);
    });

    it('a bad event file, named by its path', async () => {
      await using dir = await createTemporaryDirectory();
      const { baseState, events } = await openHandsFixtures();
      const source = await writeOpenHandsFolder({ root: dir.path, baseState, events });
      const persistenceDir = join(dir.path, 'ferry');
      const third = (await readdir(join(source, 'events'))).sort()[2] ?? '';

      await writeFile(join(source, 'events', third), '{"id": ');
      const broken = await rejection(importOpenHandsConversation({ from: source, persistenceDir }));
      expect(broken).toBeInstanceOf(OpenHandsEventFileError);
      expect(broken).toMatchObject({
        code: 'OPENHANDS_EVENT_FILE_INVALID',
        path: join(source, 'events', third),
      });

      await writeFile(join(source, 'events', third), JSON.stringify({ ...events[3], id: 'x' }));
      expect(
        await rejection(importOpenHandsConversation({ from: source, persistenceDir })),
      ).toMatchObject({
        path: join(source, 'events', third),
        reason: expect.stringContaining('name') as string,
      });

      await writeFile(join(source, 'events', third), JSON.stringify({ ...events[2], source: 7 }));
      expect(
        await rejection(importOpenHandsConversation({ from: source, persistenceDir })),
      ).toBeInstanceOf(OpenHandsEventFileError);

      await writeFile(join(source, 'events', third), JSON.stringify(events[2]));
      await writeFile(
        join(source, 'events', `event-00099-${String(events[0]?.id)}.json`),
        JSON.stringify(events[0]),
      );
      expect(
        await rejection(importOpenHandsConversation({ from: source, persistenceDir })),
      ).toMatchObject({ reason: expect.stringContaining('event 10 is missing') as string });
      expect(await readdir(dir.path)).toEqual([conversationFolderName(String(baseState.id))]);
    });

    it('an existing destination, on import and on export', async () => {
      await using dir = await createTemporaryDirectory();
      const { baseState, events } = await openHandsFixtures();
      const source = await writeOpenHandsFolder({ root: join(dir.path, 'oh'), baseState, events });
      const persistenceDir = join(dir.path, 'ferry');
      const { conversationId, location } = await importOpenHandsConversation({
        from: source,
        persistenceDir,
      });
      const before = await readTree(persistenceDir);
      const again = await rejection(importOpenHandsConversation({ from: source, persistenceDir }));
      expect(again).toBeInstanceOf(ConversationExistsError);
      expect(again).toMatchObject({ code: 'CONVERSATION_EXISTS', location, conversationId });
      expect(await readTree(persistenceDir)).toEqual(before);

      const sourceBefore = await readTree(join(dir.path, 'oh'));
      const onto = await rejection(
        exportOpenHandsConversation({ persistenceDir, conversationId, to: join(dir.path, 'oh') }),
      );
      expect(onto).toMatchObject({ code: 'CONVERSATION_EXISTS', location: source });
      expect(await readTree(join(dir.path, 'oh'))).toEqual(sourceBefore);
      expect(await readdir(join(dir.path, 'oh'))).toEqual([conversationFolderName(conversationId)]);

      expect(
        await rejection(
          exportOpenHandsConversation({
            persistenceDir,
            conversationId: '99999999-2222-3333-4444-555555555555',
            to: join(dir.path, 'out'),
          }),
        ),
      ).toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
      expect((await readdir(dir.path)).sort()).toEqual(['ferry', 'oh']);
    });
  });
});
