import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalConversation } from '../conversation/local-conversation';
import { BundleFormatError } from '../errors/bundle-format-error';
import { FerryError } from '../errors/ferry-error';
import { LocalFileStore } from '../persistence/local-file-store';
import { conversationFolderName } from '../store/conversation-id';
import { createTemporaryDirectory } from '../testing/index';
import {
  agent,
  createConversation,
  entriesOf,
  exportToBytes,
  pack,
  snapshot,
  withManifest,
  workspaceOf,
} from './bundle-test-helpers';
import { takeScannedLog } from '../persistence/scanned-log';
import { importConversationBundle, openBundle } from './import-bundle';

/** `bytes` as a stream of pieces of `size` bytes, each handed over on a later tick. */
function trickle(bytes: Buffer, size: number): Readable {
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let start = 0; start < bytes.length; start += size) {
      await new Promise((resolve) => setImmediate(resolve));
      yield bytes.subarray(start, start + size);
    }
  }
  return Readable.from(pieces());
}

async function exported() {
  const source = await createTemporaryDirectory();
  const work = await createTemporaryDirectory();
  const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
  const bundle = await exportToBytes({
    store: new LocalFileStore({ root: source.path }).scope(conversationFolderName(id)),
  });
  return {
    id,
    bundle,
    workingDir: work.path,
    [Symbol.asyncDispose]: async () => {
      await source.remove();
      await work.remove();
    },
  };
}

async function eventLines(root: string, id: string, workingDir: string): Promise<string[]> {
  const conversation = await LocalConversation.open({
    agent,
    conversationId: id,
    persistenceDir: root,
    workspace: workspaceOf(workingDir),
    onWarning: () => undefined,
  });
  try {
    return conversation.events.raw().map((event) => `${event.kind} ${event.id}`);
  } finally {
    await conversation.close();
  }
}

describe('importing a bundle as it arrives', () => {
  it('a stream in small pieces, or opened first to read its manifest, imports as bytes do', async () => {
    await using source = await exported();
    await using fromBytes = await createTemporaryDirectory();
    await using fromStream = await createTemporaryDirectory();
    await using fromOpened = await createTemporaryDirectory();
    await importConversationBundle({
      source: source.bundle,
      store: new LocalFileStore({ root: fromBytes.path }),
    });
    await importConversationBundle({
      source: trickle(source.bundle, 97),
      store: new LocalFileStore({ root: fromStream.path }),
    });
    const opened = await openBundle(trickle(source.bundle, 501));
    expect(opened.manifest.conversation_id).toBe(source.id);
    await importConversationBundle({
      source: opened,
      store: new LocalFileStore({ root: fromOpened.path }),
    });
    // An opened bundle is read once.
    await expect(
      importConversationBundle({
        source: opened,
        store: new LocalFileStore({ root: fromOpened.path }),
      }),
    ).rejects.toThrow(FerryError);

    const expected = await snapshot(fromBytes.path);
    expect(await snapshot(fromStream.path)).toEqual(expected);
    expect(await snapshot(fromOpened.path)).toEqual(expected);
    const history = await eventLines(fromBytes.path, source.id, source.workingDir);
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(await eventLines(fromStream.path, source.id, source.workingDir)).toEqual(history);
  });

  it('keeps the checked events for the next open only when asked to', async () => {
    await using source = await exported();
    await using root = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: root.path });
    const folder = store.scope(conversationFolderName(source.id));
    await importConversationBundle({ source: source.bundle, store });
    expect(takeScannedLog(folder)).toBeUndefined();
    await importConversationBundle({
      source: source.bundle,
      store,
      overwrite: true,
      keepCheckedLog: true,
    });
    const kept = takeScannedLog(folder);
    // Every line was checked, but only the index is kept: the open reads events when asked.
    expect(kept?.count).toBe((await eventLines(root.path, source.id, source.workingDir)).length);
    expect(kept?.events).toBeUndefined();
    // Taken once.
    expect(takeScannedLog(folder)).toBeUndefined();
  });

  it('beforeCommit runs once all is checked; throwing there leaves the destination as it was', async () => {
    await using source = await exported();
    await using root = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: root.path });
    const seen: string[] = [];
    await expect(
      importConversationBundle({
        source: trickle(source.bundle, 211),
        store,
        beforeCommit: (manifest) => {
          seen.push(manifest.bundle_id);
          return Promise.reject(new Error('the rest of the request was refused'));
        },
      }),
    ).rejects.toThrow('the rest of the request was refused');
    expect(seen).toHaveLength(1);
    expect(await snapshot(root.path)).toEqual({});

    // A damaged entry is reported before beforeCommit is ever called.
    const entries = await entriesOf(source.bundle);
    const damaged = entries.map((entry) =>
      entry.path.startsWith('events/')
        ? { ...entry, data: Buffer.from('{"not": "an event"}\n') }
        : entry,
    );
    let called = false;
    await expect(
      importConversationBundle({
        source: pack(withManifest(damaged, (manifest) => (manifest.event_count = 1))),
        store,
        beforeCommit: () => {
          called = true;
          return Promise.resolve();
        },
      }),
    ).rejects.toThrow(BundleFormatError);
    expect(called).toBe(false);
    expect(await snapshot(root.path)).toEqual({});
  });

  it('a damaged segment is reported as a checksum mismatch, not as its first bad line', async () => {
    await using source = await exported();
    await using root = await createTemporaryDirectory();
    const entries = await entriesOf(source.bundle);
    const manifest = entries.find((entry) => entry.path === 'manifest.json');
    const tampered = entries.map((entry) => {
      if (!entry.path.startsWith('events/')) return entry;
      const data = Buffer.from(entry.data ?? '');
      data.write('#', 0);
      return { ...entry, data };
    });
    const error = await importConversationBundle({
      source: pack([manifest ?? { path: 'manifest.json' }, ...tampered.slice(1)]),
      store: new LocalFileStore({ root: root.path }),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BundleFormatError);
    expect(String(error)).toContain('SHA-256 differs');
  });
});
