import { appendFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../errors/ferry-error';
import { LocalFileStore } from '../persistence/local-file-store';
import { conversationFolderName } from '../store/conversation-id';
import { createTemporaryDirectory } from '../testing/index';
import { collect, createConversation } from './bundle-test-helpers';
import { exportConversationBundle } from './export-bundle';
import { importConversationBundle } from './import-bundle';

const SEGMENT = 'events/segment-000001.jsonl';

/** A conversation (two events) in a folder of its own, and that folder's store. */
async function conversationFolder(root: string, workingDir: string) {
  const id = await createConversation({ persistenceDir: root, workingDir });
  const folder = join(root, conversationFolderName(id));
  return { id, folder, store: new LocalFileStore({ root: folder }) };
}

describe('a folder exported whole streams its segments from their files', () => {
  it('sends the log as it was when the export resolved, whatever is appended while it streams', async () => {
    await using source = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    const { id, folder, store } = await conversationFolder(source.path, source.path);
    const before = await readFile(join(folder, SEGMENT));
    const { manifest, stream } = await exportConversationBundle({ store });
    expect(manifest.event_count).toBe(2);
    await appendFile(join(folder, SEGMENT), '{"id":"appended-later","kind":"MessageEvent"}\n');
    const bundle = await collect(stream);
    await importConversationBundle({
      source: bundle,
      store: new LocalFileStore({ root: target.path }),
    });
    const imported = await readFile(join(target.path, conversationFolderName(id), SEGMENT));
    expect(imported.equals(before)).toBe(true);
  });

  it('fails the stream with BUNDLE_SOURCE_CHANGED when a segment is cut short or rewritten meanwhile', async () => {
    await using source = await createTemporaryDirectory();
    const { folder, store } = await conversationFolder(source.path, source.path);
    const path = join(folder, SEGMENT);
    const original = await readFile(path);

    const cut = await exportConversationBundle({ store });
    await truncate(path, original.length - 10);
    const cutCollect = collect(cut.stream);
    await expect(cutCollect).rejects.toBeInstanceOf(FerryError);
    await expect(cutCollect).rejects.toMatchObject({ code: 'BUNDLE_SOURCE_CHANGED' });
    await expect(cutCollect).rejects.toThrow(SEGMENT);

    await writeFile(path, original);
    const rewritten = await exportConversationBundle({ store });
    // Same size, other bytes: only the checksum can tell.
    await writeFile(path, Buffer.from(original.toString('utf8').replace('report', 'REPORT')));
    await expect(collect(rewritten.stream)).rejects.toMatchObject({
      code: 'BUNDLE_SOURCE_CHANGED',
    });
  });

  it('leaves out a torn last line, however long, and keeps a whole one without its newline', async () => {
    await using source = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    const { id, folder, store } = await conversationFolder(source.path, source.path);
    const path = join(folder, SEGMENT);
    const whole = await readFile(path);
    // Longer than the tail read first to find the last line.
    await appendFile(path, `{"id":"torn","kind":"MessageEvent","text":"${'x'.repeat(300_000)}`);
    const torn = await exportConversationBundle({ store });
    expect(torn.manifest.event_count).toBe(2);
    expect(torn.manifest.files.find((file) => file.path === SEGMENT)?.size).toBe(whole.length);
    await collect(torn.stream);

    // A valid last event without its newline (a hand edit) travels as it is.
    const last = whole.subarray(0, whole.length - 1);
    await writeFile(path, last);
    const unterminated = await exportConversationBundle({ store });
    expect(unterminated.manifest.event_count).toBe(2);
    await importConversationBundle({
      source: await collect(unterminated.stream),
      store: new LocalFileStore({ root: target.path }),
    });
    const imported = await readFile(join(target.path, conversationFolderName(id), SEGMENT));
    expect(imported.equals(last)).toBe(true);
  });
});
