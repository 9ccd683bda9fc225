import { describe, expect, it } from 'vitest';
import { BundleConflictError } from '../errors/bundle-conflict-error';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { LocalConversation } from '../conversation/local-conversation';
import { FileConversationStore } from '../store/file-conversation-store';
import { InMemoryConversationStore } from '../store/in-memory-conversation-store';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { SECRET, agent, collect, createConversation, workspaceOf } from './bundle-test-helpers';
import { exportConversationBundle } from './export-bundle';
import { importConversationBundle } from './import-bundle';

async function bundleOf(store: FileConversationStore | InMemoryConversationStore, id: string) {
  const { manifest, stream } = await exportConversationBundle({ store, conversationId: id });
  return { manifest, bytes: await collect(stream) };
}

describe('bundles through a ConversationStore', () => {
  it('carry a folder conversation into a memory store and back, events, state and side files intact', async () => {
    await using dir = await createTemporaryDirectory();
    const files = new FileConversationStore({ root: `${dir.path}/a` });
    const id = await createConversation({ persistenceDir: `${dir.path}/a`, workingDir: dir.path });
    await files.files(id).writeAtomic('TASKS.json', '[{"title":"t"}]\n');
    const original = await bundleOf(files, id);
    expect(original.bytes.includes(Buffer.from(SECRET))).toBe(false);

    const memory = new InMemoryConversationStore();
    const imported = await importConversationBundle({ source: original.bytes, store: memory });
    expect(imported.conversationId).toBe(id);
    expect(await memory.list()).toEqual([id]);
    expect(await memory.readEvents(id)).toEqual(await files.readEvents(id));
    expect(await memory.files(id).readText('TASKS.json')).toBe('[{"title":"t"}]\n');
    expect(JSON.stringify(await memory.readState(id))).not.toContain(SECRET);

    // Opened there with the agent (and its key), it runs on; then it travels back.
    const conversation = await LocalConversation.open({
      store: memory,
      conversationId: id,
      agent,
      workspace: workspaceOf(dir.path),
      onWarning: () => undefined,
    });
    expect(conversation.state.title).toBe('Report');
    await conversation.sendMessage('In memory now.');
    await conversation.close();

    const back = await bundleOf(memory, id);
    expect(back.manifest.event_count).toBe(await memory.eventCount(id));
    const other = new FileConversationStore({ root: `${dir.path}/b` });
    await importConversationBundle({ source: back.bytes, store: other });
    expect(await other.readEvents(id)).toEqual(await memory.readEvents(id));
    expect(await other.files(id).readText('TASKS.json')).toBe('[{"title":"t"}]\n');
  });

  it('refuse to replace a conversation without overwrite, and one that is open', async () => {
    await using dir = await createTemporaryDirectory();
    const files = new FileConversationStore({ root: dir.path });
    const id = await createConversation({ persistenceDir: dir.path, workingDir: dir.path });
    const { bytes } = await bundleOf(files, id);
    const memory = new InMemoryConversationStore();
    await importConversationBundle({ source: bytes, store: memory });
    await expect(importConversationBundle({ source: bytes, store: memory })).rejects.toSatisfy(
      (error: unknown) => BundleConflictError.isInstance(error),
    );

    const open = await LocalConversation.open({
      store: memory,
      conversationId: id,
      workspace: workspaceOf(dir.path),
      onWarning: () => undefined,
    });
    await open.sendMessage('only here');
    await expect(
      importConversationBundle({ source: bytes, store: memory, overwrite: true }),
    ).rejects.toSatisfy((error: unknown) => ConversationLockedError.isInstance(error));
    await open.close();
    // Replaced once it is free: the message sent only here is gone.
    await importConversationBundle({ source: bytes, store: memory, overwrite: true });
    expect(await memory.readEvents(id)).toEqual(await files.readEvents(id));
  });
});
