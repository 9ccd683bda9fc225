/**
 * A conversation that ran `terminal` and `file_editor` on a real `LocalWorkspace` goes to
 * OpenHands' layout and back: every exported event fits OpenHands' models, the imported
 * conversation equals the original and carries on with the same tools.
 */
import {
  LocalConversation,
  exportOpenHandsConversation,
  importOpenHandsConversation,
} from '@ferry/sdk-core';
import type { AgentInput } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  openHandsModelProblems,
  openHandsReferenceModels,
  startScriptedLLMServer,
  toolCall,
} from '@ferry/sdk-core/testing';
import { readFile, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalWorkspace } from './local-workspace';

function agentFor(baseUrl: string): AgentInput {
  return {
    llm: { model: 'scripted-model', base_url: baseUrl, api_key: 'sk-round-trip-0042' },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

describe('OpenHands round trip with terminal and file_editor', { timeout: 120_000 }, () => {
  // Python parses the reference models once: seconds on a busy machine.
  beforeAll(() => void openHandsReferenceModels(), 120_000);

  it('exports events OpenHands accepts, imports them back equal, and runs on', async () => {
    await using dir = await createTemporaryDirectory();
    const workingDir = await realpath(dir.path);
    const persistenceDir = join(workingDir, '.ferry');
    const notes = join(workingDir, 'notes.txt');
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('terminal', { command: 'echo first > notes.txt && cat notes.txt' }),
        toolCall('file_editor', {
          command: 'str_replace',
          path: notes,
          old_str: 'first',
          new_str: 'second',
        }),
        toolCall('file_editor', { command: 'view', path: notes }),
        toolCall('finish', { message: 'Notes written.' }),
        // After the round trip:
        toolCall('terminal', { command: 'cat notes.txt' }),
        toolCall('finish', { message: 'Still there.' }),
      ],
    });
    const workspace = new LocalWorkspace({ workingDir });
    let id: string;
    try {
      const conversation = await LocalConversation.open({
        agent: agentFor(llm.baseUrl),
        workspace,
        persistenceDir,
      });
      await conversation.sendMessage('Write notes.txt.');
      expect(await conversation.run()).toBe('finished');
      id = conversation.id;
      await conversation.close();
    } finally {
      await workspace.close();
    }
    const original = [
      ...(
        await readFile(
          join(persistenceDir, id.replaceAll('-', ''), 'events', 'segment-000001.jsonl'),
          'utf8',
        )
      ).split('\n'),
    ]
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    const exported = await exportOpenHandsConversation({
      persistenceDir,
      conversationId: id,
      to: join(workingDir, 'openhands'),
    });
    const names = (await readdir(join(exported.location, 'events'))).sort();
    expect(names).toHaveLength(original.length + 1);
    const kinds = new Set<string>();
    for (const name of names) {
      const event = JSON.parse(
        await readFile(join(exported.location, 'events', name), 'utf8'),
      ) as Record<string, unknown>;
      for (const part of ['action', 'observation'] as const) {
        const document = event[part] as { kind?: string } | undefined;
        if (document?.kind !== undefined) kinds.add(document.kind);
      }
      expect(openHandsModelProblems(event), name).toEqual([]);
    }
    expect([...kinds].sort()).toEqual([
      'FileEditorAction',
      'FileEditorObservation',
      'FinishAction',
      'FinishObservation',
      'TerminalAction',
      'TerminalObservation',
    ]);

    const imported = await importOpenHandsConversation({
      from: exported.location,
      persistenceDir: join(workingDir, '.ferry-again'),
    });
    const resumedWorkspace = new LocalWorkspace({ workingDir });
    try {
      const resumed = await LocalConversation.open({
        agent: agentFor(llm.baseUrl),
        workspace: resumedWorkspace,
        persistenceDir: join(workingDir, '.ferry-again'),
        conversationId: imported.conversationId,
      });
      expect(JSON.parse(JSON.stringify([...resumed.events]))).toEqual(
        original.map((event) => expect.objectContaining(event) as unknown),
      );
      await resumed.sendMessage('Is it still there?');
      expect(await resumed.run()).toBe('finished');
      const observation = [...resumed.events]
        .reverse()
        .find((event) => event.kind === 'ObservationEvent' && event.tool_name === 'terminal');
      expect(JSON.stringify(observation)).toContain('second');
      await resumed.close();
    } finally {
      await resumedWorkspace.close();
    }
  });
});
