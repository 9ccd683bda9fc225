import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  FileConversationStore,
  importConversationBundle,
  LocalConversation,
  writeConversationBundle,
} from '@ferry/sdk-core';
import { startScriptedLLMServer, toolCall } from '@ferry/sdk-core/testing';
import { copyConversation, PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
let database: TestDatabase;
let folder: string;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'bundles');
  folder = await mkdtemp(join(tmpdir(), 'ferry-postgres-bundles-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
  await database.drop();
});

describe('bundles and copies of PostgreSQL conversations', () => {
  it('exports a PostgreSQL conversation to a bundle and imports it into another schema', async () => {
    const source = await PostgresStore.connect({
      connectionString: database.url,
      schema: 'source',
    });
    const target = await PostgresStore.connect({
      connectionString: database.url,
      schema: 'target',
    });
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', { command: 'plan', task_list: [{ title: 'travel well' }] }),
        toolCall('finish', { message: 'done' }),
      ],
    });
    try {
      const conversation = await LocalConversation.open({
        store: source,
        workspace,
        title: 'bundled',
        agent: {
          llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'sk-bundle', num_retries: 0 },
          tools: [{ name: 'task_tracker' }],
        },
        onWarning: () => undefined,
      });
      await conversation.sendMessage('plan it');
      expect(await conversation.run()).toBe('finished');
      const id = conversation.id;
      const events = [...conversation.events].map((event) => event.id);
      await conversation.close();

      const file = join(folder, 'conversation.tar.gz');
      const manifest = await writeConversationBundle({ store: source, conversationId: id, file });
      expect(manifest.event_count).toBe(events.length);
      const imported = await importConversationBundle({ source: file, store: target });
      expect(imported.conversationId).toBe(id);

      const reopened = await LocalConversation.open({
        store: target,
        workspace,
        conversationId: id,
        onWarning: () => undefined,
      });
      try {
        expect(reopened.state.title).toBe('bundled');
        expect([...reopened.events].map((event) => event.id)).toEqual(events);
        expect(await target.files(id).readText('TASKS.json')).toContain('travel well');
      } finally {
        await reopened.close();
      }
      // Copying again is refused, and nothing changes.
      await expect(
        copyConversation({ from: source, to: target, conversationId: id }),
      ).rejects.toMatchObject({
        code: 'CONVERSATION_EXISTS',
      });
      expect(await target.eventCount(id)).toBe(events.length);
    } finally {
      await source.close();
      await target.close();
    }
  });

  it('moves a conversation from a folder into PostgreSQL', async () => {
    const persistenceDir = join(folder, 'conversations');
    const onDisk = await LocalConversation.open({
      persistenceDir,
      workspace,
      agent: { llm: { model: 'openai/gpt-4.1-mini' }, tools: [] },
      title: 'from a folder',
    });
    await onDisk.sendMessage('hello from disk');
    const id = onDisk.id;
    await onDisk.close();
    const store = await PostgresStore.connect({ connectionString: database.url, schema: 'moved' });
    const files = new FileConversationStore({ root: persistenceDir });
    try {
      const copied = await copyConversation({ from: files, to: store, conversationId: id });
      // The one side file: the context snapshot ("no condensation yet").
      expect(copied).toMatchObject({ conversationId: id, files: 1 });
      expect(await store.list()).toEqual([id]);
      const reopened = await LocalConversation.open({ store, workspace, conversationId: id });
      expect(reopened.state.title).toBe('from a folder');
      expect(
        [...reopened.events].some((event) => JSON.stringify(event).includes('hello from disk')),
      ).toBe(true);
      await reopened.close();
      // Copying again is refused, and nothing changes.
      await expect(
        copyConversation({ from: files, to: store, conversationId: id }),
      ).rejects.toMatchObject({ code: 'CONVERSATION_EXISTS' });
      expect(await store.eventCount(id)).toBe(reopened.events.length);
    } finally {
      await files.close();
      await store.close();
    }
  });
});
