import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BundleBaseMismatchError } from '../errors/bundle-base-mismatch-error';
import { BundleConflictError } from '../errors/bundle-conflict-error';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { LocalConversation } from '../conversation/local-conversation';
import { FileConversationStore } from '../store/file-conversation-store';
import { InMemoryConversationStore } from '../store/in-memory-conversation-store';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { SECRET, agent, collect, createConversation, workspaceOf } from './bundle-test-helpers';
import { readBundleBase } from './bundle-base';
import { DELTA_BUNDLE_VERSION } from './bundle-manifest';
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

/** Sends `count` messages to the conversation in `store`. */
async function addMessages(
  store: FileConversationStore | InMemoryConversationStore,
  id: string,
  count: number,
  workingDir: string,
): Promise<void> {
  const conversation = await LocalConversation.open({
    store,
    conversationId: id,
    workspace: workspaceOf(workingDir),
    onWarning: () => undefined,
  });
  for (let index = 0; index < count; index += 1) {
    // Incompressible text, so that a bundle's size follows the events it carries.
    await conversation.sendMessage(`message ${index}: ${randomBytes(600).toString('base64')}`);
  }
  await conversation.close();
}

describe('delta bundles into a store without segment files', () => {
  it('carry only the new events, also when this side has several segments', async () => {
    await using dir = await createTemporaryDirectory();
    // Small segments: the folder's log is several files, the memory store's one.
    const files = new FileConversationStore({ root: `${dir.path}/a`, segmentMaxBytes: 4096 });
    const id = await createConversation({ persistenceDir: `${dir.path}/a`, workingDir: dir.path });
    await addMessages(files, id, 30, dir.path);
    await files.files(id).writeAtomic('TASKS.json', '[{"title":"t"}]\n');
    const memory = new InMemoryConversationStore();
    await importConversationBundle({ source: (await bundleOf(files, id)).bytes, store: memory });

    expect((await files.files(id).list('events')).length).toBeGreaterThan(2);
    await addMessages(files, id, 3, dir.path);
    const base = await readBundleBase({ store: memory, conversationId: id });
    expect(base?.single_segment).toBe(true);
    expect(base?.event_count).toBe((await memory.readEvents(id)).length);
    const full = await bundleOf(files, id);
    const delta = await exportConversationBundle({ store: files, conversationId: id, base });
    expect(delta.baseRefused).toBeUndefined();
    const bytes = await collect(delta.stream);
    expect(delta.manifest.version).toBe(DELTA_BUNDLE_VERSION);
    expect(bytes.length).toBeLessThan(full.bytes.length / 4);

    await importConversationBundle({ source: bytes, store: memory, overwrite: true });
    expect(await memory.readEvents(id)).toEqual(await files.readEvents(id));
    expect(await memory.files(id).readText('TASKS.json')).toBe('[{"title":"t"}]\n');
    expect((await memory.readState(id))?.['id']).toBe(id);
  });

  it('refuse a delta whose base changed there since, changing nothing', async () => {
    await using dir = await createTemporaryDirectory();
    const files = new FileConversationStore({ root: dir.path });
    const id = await createConversation({ persistenceDir: dir.path, workingDir: dir.path });
    const memory = new InMemoryConversationStore();
    await importConversationBundle({ source: (await bundleOf(files, id)).bytes, store: memory });
    const base = await readBundleBase({ store: memory, conversationId: id });
    await addMessages(files, id, 2, dir.path);
    const delta = await exportConversationBundle({ store: files, conversationId: id, base });
    const bytes = await collect(delta.stream);

    // The copy there moves on (another fork of the history) before the delta arrives.
    await addMessages(memory, id, 1, dir.path);
    const before = await memory.readEvents(id);
    await expect(importConversationBundle({ source: bytes, store: memory })).rejects.toSatisfy(
      (error: unknown) =>
        BundleBaseMismatchError.isInstance(error) &&
        /segment-000001\.jsonl differs/.test(error.message),
    );
    expect(await memory.readEvents(id)).toEqual(before);
    // The refusal let the lease go: the copy can be written again.
    const lease = await memory.acquireLease(id);
    await memory.releaseLease(lease);
  });

  it('remove there the side files this side no longer has, and replace changed ones', async () => {
    await using dir = await createTemporaryDirectory();
    const files = new FileConversationStore({ root: dir.path });
    const id = await createConversation({ persistenceDir: dir.path, workingDir: dir.path });
    await files.files(id).writeAtomic('TASKS.json', '[{"title":"old"}]\n');
    await files.files(id).writeAtomic('observations/gone.txt', 'removed later\n');
    const memory = new InMemoryConversationStore();
    await importConversationBundle({ source: (await bundleOf(files, id)).bytes, store: memory });
    const base = await readBundleBase({ store: memory, conversationId: id });

    await files.files(id).remove('observations/gone.txt');
    await files.files(id).writeAtomic('TASKS.json', '[{"title":"new"}]\n');
    await addMessages(files, id, 1, dir.path);
    const delta = await exportConversationBundle({ store: files, conversationId: id, base });
    expect(delta.manifest.version).toBe(DELTA_BUNDLE_VERSION);
    await importConversationBundle({ source: await collect(delta.stream), store: memory });
    expect(await memory.files(id).readText('TASKS.json')).toBe('[{"title":"new"}]\n');
    expect(await memory.files(id).exists('observations/gone.txt')).toBe(false);
    expect(await memory.readEvents(id)).toEqual(await files.readEvents(id));
  });

  it('travel back from such a store to a folder as a delta', async () => {
    await using dir = await createTemporaryDirectory();
    const files = new FileConversationStore({ root: dir.path });
    const id = await createConversation({ persistenceDir: dir.path, workingDir: dir.path });
    const memory = new InMemoryConversationStore();
    await importConversationBundle({ source: (await bundleOf(files, id)).bytes, store: memory });
    await addMessages(memory, id, 2, dir.path);

    const base = await readBundleBase({ store: files, conversationId: id });
    const delta = await exportConversationBundle({ store: memory, conversationId: id, base });
    expect(delta.baseRefused).toBeUndefined();
    expect(delta.manifest.base?.event_count).toBe(base?.event_count);
    await importConversationBundle({ source: await collect(delta.stream), store: files });
    expect(await files.readEvents(id)).toEqual(await memory.readEvents(id));
  });
});
