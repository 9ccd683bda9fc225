import { randomUUID } from 'node:crypto';
import { appendFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { buildLLMContext } from '../agent/build-messages';
import { providerIdentity } from '../llm/call-llm';
import { CorruptEventLogError } from '../errors/corrupt-event-log-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import type { Event } from '../event/event-schemas';
import { EVENT_LOG_INDEX_FILE } from '../persistence/event-log-index';
import { conversationFolderName } from '../store/conversation-id';
import { FileConversationStore } from '../store/file-conversation-store';
import { createTemporaryDirectory, type TemporaryDirectory } from '../testing/temporary-directory';
import { CONTEXT_SNAPSHOT_FILE } from './context-snapshot';
import { LocalConversation } from './local-conversation';
import { INTERRUPTED_RUN_ERROR } from './recover-interrupted-run';

const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
const agent: AgentInput = {
  llm: { model: 'openai/gpt-4.1-mini', api_key: 'sk-live-context-1', temperature: 0 },
  tools: [{ name: 'terminal' }, { name: 'file_editor' }],
};

let dir: TemporaryDirectory;
beforeEach(async () => {
  dir = await createTemporaryDirectory({ prefix: 'ferry-live-' });
});
afterEach(async () => {
  await dir.remove();
});

function open(id: string, options: { agent?: AgentInput; warnings?: string[] } = {}) {
  return LocalConversation.open({
    // Index every log, however short, so these small histories take the lazy path.
    store: new FileConversationStore({ root: dir.path, fsync: false, indexFromEvents: 1 }),
    conversationId: id,
    workspace,
    agent: options.agent ?? agent,
    onWarning: (message) => options.warnings?.push(message),
  });
}

function envelope(kind: string, source: 'user' | 'agent' | 'environment') {
  return { id: randomUUID(), timestamp: new Date().toISOString(), source, kind };
}

function userMessage(text: string): Event {
  return {
    ...envelope('MessageEvent', 'user'),
    kind: 'MessageEvent',
    source: 'user',
    llm_message: { role: 'user', content: [{ type: 'text', text }] },
    activated_skills: [],
    extended_content: [],
  };
}

function action(tool: string, command: string): Event {
  const callId = `call_${randomUUID().slice(0, 8)}`;
  return {
    ...envelope('ActionEvent', 'agent'),
    thought: [{ type: 'text', text: `run ${command}` }],
    thinking_blocks: [],
    action: { kind: 'TerminalAction', command },
    tool_name: tool,
    tool_call_id: callId,
    tool_call: {
      id: callId,
      name: tool,
      arguments: JSON.stringify({ command }),
      origin: 'completion',
    },
    llm_response_id: `resp-${randomUUID()}`,
    security_risk: 'LOW',
  } as unknown as Event;
}

function observation(
  answered: Event & { tool_call_id?: string; tool_name?: string },
  text: string,
): Event {
  return {
    ...envelope('ObservationEvent', 'environment'),
    observation: {
      kind: 'TerminalObservation',
      content: [{ type: 'text', text }],
      is_error: false,
    },
    action_id: answered.id,
    tool_name: answered.tool_name,
    tool_call_id: answered.tool_call_id,
  } as unknown as Event;
}

function condensation(forgotten: readonly Event[], summary: string): Event {
  return {
    ...envelope('Condensation', 'environment'),
    forgotten_event_ids: forgotten.map((event) => event.id),
    summary,
    summary_offset: 1,
    llm_response_id: `resp-${randomUUID()}`,
  } as unknown as Event;
}

/** `steps` terminal steps (action + observation), the first with `tool`. */
function steps(count: number, tool = 'terminal'): Event[] {
  const events: Event[] = [];
  for (let index = 0; index < count; index += 1) {
    const act = action(index === 0 ? tool : 'terminal', `echo ${index}`);
    events.push(act, observation(act, `output ${index}`));
  }
  return events;
}

interface Written {
  id: string;
  ids: string[];
  /** Position of the last condensation. */
  condensedAt: number;
}

/**
 * A conversation of a first message, 60 steps (the first with `file_editor`), a condensation
 * that forgets all but the first message and the last 10 steps, then 5 more steps. Closed, so
 * its index and context snapshot are on disk.
 */
async function writeCondensed(
  extra: (conversation: LocalConversation) => Promise<void> = async () => {},
): Promise<Written> {
  const id = randomUUID();
  const conversation = await open(id);
  const first = userMessage('Fix the parser.');
  const before = steps(60, 'file_editor');
  await conversation.appendEvents([first, ...before]);
  await conversation.appendEvents([condensation(before.slice(0, 100), 'Fixed half of it.')]);
  await conversation.appendEvents(steps(5));
  await extra(conversation);
  const ids = conversation.events.raw().map((event) => event.id);
  await conversation.close();
  return { id, ids, condensedAt: 1 + before.length };
}

function folderOf(id: string): string {
  return join(dir.path, conversationFolderName(id));
}

function segmentOf(id: string): string {
  return join(folderOf(id), 'events', 'segment-000001.jsonl');
}

function fullContext(conversation: LocalConversation) {
  return buildLLMContext({
    events: conversation.events,
    agent: conversation.agent,
    provider: providerIdentity(conversation.agent.llm),
  });
}

describe('resume from the live context', () => {
  it('reads only the live context, builds the same request, and reads older events when asked', async () => {
    const written = await writeCondensed();
    const conversation = await open(written.id);
    expect(conversation.openReport.liveContext).toEqual({
      source: 'snapshot',
      loadedFrom: written.condensedAt,
    });
    const next = conversation.nextLLMContext();
    // The first message, the summary, the 10 kept steps and the 5 new ones.
    expect(next.messages).toHaveLength(1 + 1 + 2 * 15);
    expect(next.messages).toEqual(fullContext(conversation).messages);

    expect(conversation.events.length).toBe(written.ids.length);
    expect(conversation.events[3]?.id).toBe(written.ids[3]);
    expect(conversation.events.at(-1)?.id).toBe(written.ids.at(-1));
    expect([...conversation.events].map((event) => event.id)).toEqual(written.ids);
    expect(conversation.events.indexOf(written.ids[2] as string)).toBe(2);
    expect(await conversation.store.readEvents(conversation.id, { from: 1, limit: 3 })).toEqual(
      conversation.events.raw().slice(1, 4),
    );
    await conversation.close();
  });

  it('reports a corrupt line of the old history when it is read, naming the segment and line', async () => {
    const written = await writeCondensed();
    // Same length, so the segment still matches its index: only reading the line finds it.
    const text = await readFile(segmentOf(written.id), 'utf8');
    const lines = text.split('\n');
    lines[2] = `#${(lines[2] as string).slice(1)}`;
    await writeFile(segmentOf(written.id), lines.join('\n'));

    const conversation = await open(written.id);
    expect(conversation.openReport.liveContext?.source).toBe('snapshot');
    let thrown: unknown;
    try {
      void conversation.events[2];
    } catch (error) {
      thrown = error;
    }
    expect(CorruptEventLogError.isInstance(thrown)).toBe(true);
    expect((thrown as CorruptEventLogError).file).toBe(segmentOf(written.id));
    expect((thrown as CorruptEventLogError).line).toBe(3);
    await expect(
      conversation.store.readEvents(conversation.id, { from: 0, limit: 5 }),
    ).rejects.toMatchObject({
      name: 'CorruptEventLogError',
      line: 3,
    });
    await conversation.close();
  });

  it('reports at open a corrupt line in a segment whose size no longer matches its index', async () => {
    const written = await writeCondensed();
    const text = await readFile(segmentOf(written.id), 'utf8');
    const lines = text.split('\n');
    lines[4] = '{"broken": ';
    await writeFile(segmentOf(written.id), lines.join('\n'));
    const error = await open(written.id).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(CorruptEventLogError.isInstance(error)).toBe(true);
    expect((error as CorruptEventLogError).line).toBe(5);
  });

  it('cuts off a torn last line left after the index was written', async () => {
    const written = await writeCondensed();
    await appendFile(segmentOf(written.id), '{"id": "half-writ');
    const warnings: string[] = [];
    const conversation = await open(written.id, { warnings });
    expect(warnings.some((warning) => warning.includes('Cut off a torn last line'))).toBe(true);
    expect(conversation.events.length).toBe(written.ids.length);
    expect(conversation.openReport.liveContext?.source).toBe('snapshot');
    await conversation.close();
  });

  it('answers the actions a crash left unanswered, also one kept from before the condensation', async () => {
    const id = randomUUID();
    const conversation = await open(id);
    const first = userMessage('Fix the parser.');
    const before = steps(20);
    const kept = action('terminal', 'make test');
    await conversation.appendEvents([first, ...before, kept]);
    await conversation.appendEvents([condensation(before, 'Ran the first 20 steps.')]);
    await conversation.appendEvents(steps(3));
    const last = action('terminal', 'sleep 100');
    await conversation.appendEvents([last]);
    await conversation.updateState({ execution_status: 'running' });
    await conversation.close();

    const resumed = await open(id);
    expect(resumed.openReport.recoveredFromCrash).toBe(true);
    expect(resumed.openReport.liveContext?.source).toBe('snapshot');
    const errors = resumed.events
      .slice(-3)
      .filter((event) => event.kind === 'AgentErrorEvent') as (Event & {
      tool_call_id: string;
      error: string;
    })[];
    expect(errors.map((event) => event.tool_call_id).sort()).toEqual(
      [kept, last]
        .map((event) => (event as unknown as { tool_call_id: string }).tool_call_id)
        .sort(),
    );
    expect(errors.every((event) => event.error === INTERRUPTED_RUN_ERROR)).toBe(true);
    expect(resumed.status).toBe('error');
    await resumed.close();
  });

  it('still refuses a runtime agent without a tool used only in the old history', async () => {
    const written = await writeCondensed();
    const error = await open(written.id, {
      agent: { ...agent, tools: [{ name: 'terminal' }] },
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(ToolsRemovedError.isInstance(error)).toBe(true);
    expect((error as ToolsRemovedError).removed).toEqual(['file_editor']);
  });
});

describe('resume from the live context on the in-memory store', () => {
  it('takes the same short way and gives the same history', async () => {
    const { InMemoryConversationStore } = await import('../store/in-memory-conversation-store');
    const store = new InMemoryConversationStore();
    const id = randomUUID();
    const options = { store, conversationId: id, workspace, agent, onWarning: () => undefined };
    const conversation = await LocalConversation.open(options);
    const before = steps(10);
    await conversation.appendEvents([userMessage('Go.'), ...before]);
    await conversation.appendEvents([condensation(before.slice(0, 10), 'Half done.')]);
    await conversation.appendEvents(steps(2));
    const ids = conversation.events.raw().map((event) => event.id);
    await conversation.close();
    const resumed = await LocalConversation.open(options);
    expect(resumed.openReport.liveContext).toEqual({ source: 'snapshot', loadedFrom: 21 });
    expect(resumed.nextLLMContext().messages).toEqual(fullContext(resumed).messages);
    expect([...resumed.events].map((event) => event.id)).toEqual(ids);
    await resumed.close();
  });
});

describe('the side files a resume relies on are rebuilt when missing or wrong', () => {
  async function expectRebuilt(written: Written) {
    const conversation = await open(written.id);
    expect(conversation.openReport.liveContext).toEqual({ source: 'rebuilt', loadedFrom: 0 });
    expect(conversation.nextLLMContext().messages).toEqual(fullContext(conversation).messages);
    expect(conversation.events.raw().map((event) => event.id)).toEqual(written.ids);
    await conversation.close();
    // Written again: the next resume takes the short way.
    const again = await open(written.id);
    expect(again.openReport.liveContext?.source).toBe('snapshot');
    await again.close();
  }

  it('rebuilds a missing context snapshot', async () => {
    const written = await writeCondensed();
    await rm(join(folderOf(written.id), CONTEXT_SNAPSHOT_FILE));
    await expectRebuilt(written);
  });

  it('rebuilds a damaged context snapshot', async () => {
    const written = await writeCondensed();
    const path = join(folderOf(written.id), CONTEXT_SNAPSHOT_FILE);
    await writeFile(path, (await readFile(path, 'utf8')).replace('"pinned":[[0', '"pinned":[[1'));
    await expectRebuilt(written);
  });

  it('rebuilds a snapshot that disagrees with the log, even with a valid checksum', async () => {
    const written = await writeCondensed();
    const { writeContextSnapshot } = await import('./context-snapshot');
    const { LocalFileStore } = await import('../persistence/local-file-store');
    await writeContextSnapshot(new LocalFileStore({ root: folderOf(written.id) }), {
      condensation: {
        position: written.condensedAt - 1,
        id: written.ids[written.condensedAt] as string,
      },
      pinned: [],
    });
    await expectRebuilt(written);
  });

  it('rebuilds a stale snapshot: a condensation appended after it is still applied', async () => {
    const written = await writeCondensed();
    const conversation = await open(written.id);
    const snapshotPath = join(folderOf(written.id), CONTEXT_SNAPSHOT_FILE);
    const old = await readFile(snapshotPath);
    const recent = conversation.events.slice(-6) as Event[];
    await conversation.appendEvents([condensation(recent, 'Newer summary.')]);
    const ids = conversation.events.raw().map((event) => event.id);
    await conversation.close();
    // As if the process died before the new snapshot reached the disk.
    await writeFile(snapshotPath, old);
    const resumed = await open(written.id);
    expect(resumed.openReport.liveContext?.source).toBe('snapshot');
    expect(resumed.nextLLMContext().messages).toEqual(fullContext(resumed).messages);
    expect(resumed.events.raw().map((event) => event.id)).toEqual(ids);
    await resumed.close();
  });

  it('rebuilds a missing or damaged log index, and reads past a stale one', async () => {
    const written = await writeCondensed();
    const indexPath = join(folderOf(written.id), 'events', EVENT_LOG_INDEX_FILE);
    await rm(indexPath);
    let conversation = await open(written.id);
    expect(conversation.events.raw().map((event) => event.id)).toEqual(written.ids);
    await conversation.close();
    expect((await stat(indexPath)).size).toBeGreaterThan(0);

    await writeFile(
      indexPath,
      (await readFile(indexPath, 'utf8')).replace('"version":1', '"version":2'),
    );
    conversation = await open(written.id);
    expect(conversation.events.raw().map((event) => event.id)).toEqual(written.ids);
    expect(conversation.nextLLMContext().messages).toEqual(fullContext(conversation).messages);
    await conversation.close();

    // Events appended behind the index's back (its copy from before them is put back).
    const index = await readFile(indexPath);
    conversation = await open(written.id);
    const more = steps(2);
    await conversation.appendEvents(more);
    await conversation.close();
    await writeFile(indexPath, index);
    conversation = await open(written.id);
    expect(conversation.events.raw().map((event) => event.id)).toEqual([
      ...written.ids,
      ...more.map((event) => event.id),
    ]);
    await conversation.close();
  });
});

describe('a conversation that never condensed: its live context is read when first needed', () => {
  async function writeUncondensed(): Promise<{ id: string; ids: string[] }> {
    const id = randomUUID();
    const conversation = await open(id);
    await conversation.appendEvents([userMessage('Fix the parser.'), ...steps(30)]);
    const ids = conversation.events.raw().map((event) => event.id);
    await conversation.close();
    return { id, ids };
  }

  it('reads no event at open, then builds the same request and history', async () => {
    const written = await writeUncondensed();
    const snapshot = JSON.parse(
      await readFile(join(folderOf(written.id), CONTEXT_SNAPSHOT_FILE), 'utf8'),
    ) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ condensation: null, pinned: [] });
    const conversation = await open(written.id);
    expect(conversation.openReport.liveContext).toEqual({
      source: 'snapshot',
      loadedFrom: written.ids.length,
    });
    const next = conversation.nextLLMContext();
    expect(next.messages).toHaveLength(1 + 2 * 30);
    expect(next.messages).toEqual(fullContext(conversation).messages);
    expect(conversation.events.raw().map((event) => event.id)).toEqual(written.ids);
    await conversation.close();
  });

  it('finds an old event by id, and reads a range of it, without bringing the history into memory', async () => {
    const written = await writeUncondensed();
    const conversation = await open(written.id);
    expect(conversation.historyInMemory).toBe(false);
    expect(conversation.events.indexOf(written.ids[7] as string)).toBe(7);
    expect(conversation.events.indexOf('no-such-event')).toBe(-1);
    expect(conversation.events.length).toBe(written.ids.length);
    expect(conversation.historyInMemory).toBe(false);
    conversation.nextLLMContext();
    expect(conversation.historyInMemory).toBe(true);
    expect(conversation.events.raw(5, 8).map((event) => event.id)).toEqual(written.ids.slice(5, 8));
    await conversation.close();
  });

  it('refuses, with a typed error that says what to do, to read its unread events once closed', async () => {
    const written = await writeUncondensed();
    const conversation = await open(written.id);
    await conversation.close();
    expect(conversation.events.length).toBe(written.ids.length);
    let thrown: unknown;
    try {
      void conversation.events[0];
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'EVENT_HISTORY_UNAVAILABLE' });
    expect((thrown as Error).message).toContain('store.readEvents');
    const stored = await conversation.store.readEvents(conversation.id);
    expect(stored.map((event) => event.id)).toEqual(written.ids);
  });

  it('reports a corrupt line when the live context is first read, naming the segment and line', async () => {
    const written = await writeUncondensed();
    const lines = (await readFile(segmentOf(written.id), 'utf8')).split('\n');
    lines[6] = `#${(lines[6] as string).slice(1)}`;
    await writeFile(segmentOf(written.id), lines.join('\n'));
    const conversation = await open(written.id);
    let thrown: unknown;
    try {
      conversation.nextLLMContext();
    } catch (error) {
      thrown = error;
    }
    expect(CorruptEventLogError.isInstance(thrown)).toBe(true);
    expect((thrown as CorruptEventLogError).file).toBe(segmentOf(written.id));
    expect((thrown as CorruptEventLogError).line).toBe(7);
    await conversation.close();
  });

  it('answers the actions a crash left unanswered', async () => {
    const id = randomUUID();
    const conversation = await open(id);
    const last = action('terminal', 'sleep 100');
    await conversation.appendEvents([userMessage('Go.'), ...steps(5), last]);
    await conversation.updateState({ execution_status: 'running' });
    await conversation.close();

    const resumed = await open(id);
    expect(resumed.openReport.recoveredFromCrash).toBe(true);
    const answer = resumed.events.at(-2) as Event & { tool_call_id?: string; error?: string };
    expect(answer.kind).toBe('AgentErrorEvent');
    expect(answer.tool_call_id).toBe((last as unknown as { tool_call_id: string }).tool_call_id);
    expect(answer.error).toBe(INTERRUPTED_RUN_ERROR);
    await resumed.close();
  });

  it('applies a condensation the snapshot missed, and writes the snapshot again', async () => {
    const written = await writeUncondensed();
    const snapshotPath = join(folderOf(written.id), CONTEXT_SNAPSHOT_FILE);
    const uncondensed = await readFile(snapshotPath);
    const conversation = await open(written.id);
    const forgotten = conversation.events.slice(1, 41) as Event[];
    await conversation.appendEvents([condensation(forgotten, 'Did the first 20 steps.')]);
    await conversation.close();
    // As if the process died before the new snapshot reached the disk.
    await writeFile(snapshotPath, uncondensed);

    const resumed = await open(written.id);
    expect(resumed.openReport.liveContext?.loadedFrom).toBe(written.ids.length + 1);
    const next = resumed.nextLLMContext();
    expect(next.messages).toEqual(fullContext(resumed).messages);
    // The first message, the summary and the 10 steps not forgotten.
    expect(next.messages).toHaveLength(1 + 1 + 2 * 10);
    await resumed.close();
    const again = await open(written.id);
    expect(again.openReport.liveContext).toEqual({
      source: 'snapshot',
      loadedFrom: written.ids.length,
    });
    await again.close();
  });
});
