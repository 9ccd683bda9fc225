import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileStore } from '../persistence/local-file-store';
import { describeConversationStoreConformance } from '../testing/conformance/store/index';
import { conversationFolderName } from './conversation-id';
import { FileConversationStore } from './file-conversation-store';

function rootOf(store: FileConversationStore): string {
  if (!(store.fileStore instanceof LocalFileStore)) throw new Error('not a folder store');
  return store.fileStore.root;
}

/** The last segment file of the conversation's log. */
async function lastSegment(store: FileConversationStore, id: string): Promise<string> {
  const dir = join(rootOf(store), conversationFolderName(id), 'events');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
  const last = names.at(-1);
  if (last === undefined) throw new Error(`no segment in ${dir}`);
  return join(dir, last);
}

describeConversationStoreConformance({
  name: 'FileConversationStore',
  createStore: async () =>
    new FileConversationStore({ root: await mkdtemp(join(tmpdir(), 'ferry-store-')) }),
  destroyStore: async (store) => {
    await store.close();
    await rm(rootOf(store), { recursive: true, force: true });
  },
  openPeer: (store) => Promise.resolve(new FileConversationStore({ root: rootOf(store) })),
  corruptEvent: async (store, id, sequence) => {
    const file = await lastSegment(store, id);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[sequence] = '{"this is": "not an event"}';
    await writeFile(file, lines.join('\n'));
  },
  tearLastEvent: async (store, id) => {
    const file = await lastSegment(store, id);
    const size = (await readFile(file)).length;
    await truncate(file, size - 12);
  },
});
