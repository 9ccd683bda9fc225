import { z } from 'zod';
import { BASE_STATE_FILE } from '../store/file-layout';
import type { FileStore } from '../persistence/file-store';
import type { ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { WORKSPACE_PREFIX, bundleFileSchema, type BundleFile } from './bundle-manifest';
import { canonicalId } from './conversation-id';
import { fileDigest } from '../persistence/file-digests';
import { listConversationFiles, sha256 } from './conversation-files';
import { DEFAULT_MAX_WORKSPACE_BYTES } from './workspace-limits';
import { STORE_LOG_SEGMENT, storeLog } from './store-log';
import { listWorkspaceFiles } from './workspace-files';

/**
 * What a destination holds of a conversation, for the source to build a delta bundle against
 * (`exportConversationBundle({ base })`): every file of its copy but the state document, each
 * with its size and SHA-256, and the workspace's files under `workspace/` when asked for.
 */
export const bundleBaseSchema = z.looseObject({
  conversation_id: z.string(),
  /** Lines in the copy's event segments. */
  event_count: z.number().int().nonnegative(),
  /** Whether `files` lists the workspace's files (under `workspace/`). */
  includes_workspace: z.boolean(),
  files: z.array(bundleFileSchema),
  /**
   * The copy is in a store without segment files (`PostgresStore`): `files` describes its whole
   * log as one segment, `events/segment-000001.jsonl`, which the source compares with its own
   * segments joined.
   */
  single_segment: z.boolean().optional(),
});
export type BundleBase = z.infer<typeof bundleBaseSchema>;

/** Options of {@link readBundleBase}. */
export interface ReadBundleBaseOptions {
  /**
   * Where the copy is: a `ConversationStore` (with `conversationId`), or the conversation's own
   * folder as a `FileStore` (`root.scope(conversationFolderName(id))`).
   */
  store: ConversationStore | FileStore;
  /** Required with a `ConversationStore`. */
  conversationId?: string;
  /** The copy's workspace folder, to list its files too. */
  workspaceDir?: string;
  /** Most bytes of workspace files to hash (default 200 MiB); more is `BundleTooLargeError`. */
  maxWorkspaceBytes?: number;
}

/**
 * Describes the copy of a conversation this side holds (see {@link bundleBaseSchema}), or
 * `undefined` when it holds none. Hashes every file (a delta is only ever built against bytes
 * both sides have proved equal), but a segment of a local folder whose digest this process
 * remembers, unchanged since, costs a `stat` (see `FileStore.digest`). A store without segment files (`PostgresStore`)
 * describes its log as the one segment its export would carry (`single_segment`).
 */
export async function readBundleBase(
  options: ReadBundleBaseOptions,
): Promise<BundleBase | undefined> {
  const copy = await heldCopy(options);
  if (copy === undefined) return undefined;
  const { segments, side } = await listConversationFiles(copy.folder);
  const files: BundleFile[] = [];
  let eventCount = 0;
  const add = (path: string, data: Uint8Array) =>
    files.push({ path, size: data.length, sha256: sha256(data) });
  if (copy.log !== undefined) {
    eventCount = copy.log.events;
    if (copy.log.events > 0) add(STORE_LOG_SEGMENT, copy.log.data);
  } else {
    for (const path of segments) {
      // Remembered when this process exported, imported or appended to it and nothing else
      // has changed the file since; read and hashed otherwise.
      const digest = await fileDigest(copy.folder, path);
      if (digest === undefined) continue;
      eventCount += digest.lines;
      files.push({ path, size: digest.size, sha256: digest.sha256 });
    }
  }
  for (const path of side) {
    const data = await copy.folder.read(path);
    if (data !== undefined) add(path, data);
  }
  if (options.workspaceDir !== undefined) {
    const workspace = await listWorkspaceFiles({
      dir: options.workspaceDir,
      maxBytes: options.maxWorkspaceBytes ?? DEFAULT_MAX_WORKSPACE_BYTES,
    }).catch((error: unknown) => {
      // No workspace folder there yet: it holds none of the files.
      if ((error as { code?: unknown }).code === 'WORKSPACE_NOT_FOUND') return [];
      throw error;
    });
    for (const file of workspace) {
      files.push({
        path: `${WORKSPACE_PREFIX}${file.path}`,
        size: file.size,
        sha256: file.sha256,
        ...(file.executable ? { executable: true } : {}),
      });
    }
  }
  return {
    conversation_id: copy.conversationId,
    event_count: eventCount,
    includes_workspace: options.workspaceDir !== undefined,
    files,
    ...(copy.log === undefined ? {} : { single_segment: true }),
  };
}

/**
 * The copy's id and folder (its side files, and with the folder layout its segments), and for a
 * store without segment files its log as one segment's bytes; `undefined` without a state.
 */
async function heldCopy(options: ReadBundleBaseOptions): Promise<
  | {
      conversationId: string;
      folder: FileStore;
      log?: { data: Buffer; events: number };
    }
  | undefined
> {
  const { store } = options;
  const generic =
    isConversationStore(store) && !(store instanceof FileConversationStore) ? store : undefined;
  if (generic !== undefined) {
    if (options.conversationId === undefined) return undefined;
    const id = canonicalId(options.conversationId);
    const state = await generic.readState(id);
    if (state === undefined) return undefined;
    const folder = generic.files(id);
    return { conversationId: id, folder, log: await storeLog(generic, id) };
  }
  const folder = conversationFolder(options);
  if (folder === undefined) return undefined;
  const stateText = await folder.readText(BASE_STATE_FILE);
  if (stateText === undefined) return undefined;
  try {
    const id = canonicalId((JSON.parse(stateText) as { id?: unknown }).id as string);
    return { conversationId: id, folder };
  } catch {
    return undefined;
  }
}

function conversationFolder(options: ReadBundleBaseOptions): FileStore | undefined {
  const { store } = options;
  if (!isConversationStore(store)) return store;
  if (options.conversationId === undefined) return undefined;
  return store.files(canonicalId(options.conversationId));
}
