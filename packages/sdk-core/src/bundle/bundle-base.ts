import { z } from 'zod';
import { BASE_STATE_FILE } from '../store/file-layout';
import type { FileStore } from '../persistence/file-store';
import type { ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { WORKSPACE_PREFIX, bundleFileSchema, type BundleFile } from './bundle-manifest';
import { canonicalId } from './conversation-id';
import { countLines, listConversationFiles, sha256 } from './conversation-files';
import { DEFAULT_MAX_WORKSPACE_BYTES } from './workspace-limits';
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
 * `undefined` when it holds none, or holds it in a store that takes whole bundles only (a
 * store other than the folder layout). Reads and hashes every file: a delta is only ever built
 * against bytes both sides have proved equal.
 */
export async function readBundleBase(
  options: ReadBundleBaseOptions,
): Promise<BundleBase | undefined> {
  const folder = conversationFolder(options);
  if (folder === undefined) return undefined;
  const stateText = await folder.readText(BASE_STATE_FILE);
  if (stateText === undefined) return undefined;
  let conversationId: string;
  try {
    conversationId = canonicalId((JSON.parse(stateText) as { id?: unknown }).id as string);
  } catch {
    return undefined;
  }
  const { segments, side } = await listConversationFiles(folder);
  const files: BundleFile[] = [];
  let eventCount = 0;
  for (const path of [...segments, ...side]) {
    const data = await folder.read(path);
    if (data === undefined) continue;
    if (segments.includes(path)) eventCount += countLines(data);
    files.push({ path, size: data.length, sha256: sha256(data) });
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
    conversation_id: conversationId,
    event_count: eventCount,
    includes_workspace: options.workspaceDir !== undefined,
    files,
  };
}

function conversationFolder(options: ReadBundleBaseOptions): FileStore | undefined {
  const { store } = options;
  if (!isConversationStore(store)) return store;
  if (!(store instanceof FileConversationStore) || options.conversationId === undefined) {
    return undefined;
  }
  return store.files(canonicalId(options.conversationId));
}
