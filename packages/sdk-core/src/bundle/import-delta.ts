import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BASE_STATE_FILE } from '../store/file-layout';
import { conversationFolderName } from '../store/conversation-id';
import { BundleBaseMismatchError } from '../errors/bundle-base-mismatch-error';
import { FerryError } from '../errors/ferry-error';
import { ConversationLock } from '../persistence/conversation-lock';
import { fileDigest, type FileDigest } from '../persistence/file-digests';
import type { FileStore } from '../persistence/file-store';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { hasErrorCode } from '../persistence/system-error';
import { WORKSPACE_PREFIX, type BundleFile, type BundleManifest } from './bundle-manifest';
import { extract, extractOptions, phaseOf, segmentOrder } from './bundle-extract';
import type { TarEntry } from './tar-reader';
import { isDerived, listConversationFiles } from './conversation-files';
import { hashFile } from './workspace-files';

/** What applying a delta bundle needs, wherever the copy is. */
export interface DeltaInput {
  /** A delta manifest (with `base`), read and checked. */
  manifest: BundleManifest;
  /** The archive's entries after the manifest. */
  entries: AsyncGenerator<TarEntry>;
  workspaceDir: string | undefined;
  onProgress: Parameters<typeof extractOptions>[0]['onProgress'];
  parkedFor: { to: string } | undefined;
  beforeCommit: ((manifest: BundleManifest) => Promise<void>) | undefined;
  /** Writes the bundle's workspace files from the staging store. */
  restoreWorkspace: (staging: FileStore) => Promise<void>;
}

/**
 * Deltas up to this many bytes (all their files) are staged in memory, larger ones in the root
 * folder: a delta is copied into the conversation from its staging, so nothing staged needs to
 * survive a crash, and a small one then costs no file writes and syncs twice over.
 */
const MEMORY_STAGING_BYTES = 64 * 1024 * 1024;

/** What {@link importDelta} needs. */
export interface ImportDeltaInput extends DeltaInput {
  /** The root folder of conversations. */
  root: FileStore;
}

/**
 * Applies a delta bundle to the copy of its conversation in `root`, in place.
 *
 * The bundle is checked and staged first (as a full import is; in memory when it is small), then, under the conversation's
 * lock, the copy here is proved to be the delta's base: every kept file has the size and SHA-256
 * the manifest names, no segment exists beyond them, and the kept segments hold `base.event_count`
 * lines. Anything else is `BundleBaseMismatchError` and nothing changes. Then the new events are
 * appended (grown segments) or written (new segments), changed side files replaced, side files
 * the source no longer has removed, and the state document written last. A failure undoes the
 * appends; a crash can leave the log longer, but always a byte-for-byte prefix of the source's
 * (the next delta then extends it), and the state of the copy as it was (parked, when it was).
 */
export async function importDelta(input: ImportDeltaInput): Promise<void> {
  const { root, manifest } = input;
  const base = manifest.base;
  const conversationId = manifest.conversation_id;
  if (base === undefined) throw new Error('importDelta: not a delta bundle');
  const folder = root.scope(conversationFolderName(conversationId));
  const mismatch = (problem: string) => new BundleBaseMismatchError({ conversationId, problem });
  if (!(await folder.exists(BASE_STATE_FILE))) {
    throw mismatch(`there is no copy of it in ${folder.describe('')}`);
  }
  const bytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
  const stagingDir = bytes <= MEMORY_STAGING_BYTES ? undefined : `.import-${randomUUID()}`;
  const staging = stagingDir === undefined ? new InMemoryFileStore() : root.scope(stagingDir);
  try {
    // Every line is checked; the events are not kept (the delta is applied from its staging).
    await extract({
      entries: input.entries,
      manifest,
      staging,
      ...extractOptions(input),
      keepEvents: false,
    });
    const lock = await ConversationLock.acquire({ store: folder, onWarning: () => undefined });
    try {
      const held = await listConversationFiles(folder);
      const problem = await baseProblem({
        digest: (path) => fileDigest(folder, path),
        base: base.files,
        heldSegments: held.segments,
        workspaceDir: input.workspaceDir,
        baseEvents: base.event_count,
      });
      if (problem !== undefined) throw mismatch(problem);
      await input.restoreWorkspace(staging);
      await apply({ folder, staging: staging.scope('conversation'), manifest, held });
    } finally {
      await lock.release();
    }
  } catch (error) {
    if (FerryError.isInstance(error)) throw error;
    throw new FerryError(
      'BUNDLE_IMPORT_FAILED',
      `Importing the delta bundle into ${folder.describe('')} failed (${error instanceof Error ? error.message : String(error)}). ` +
        'The copy there is as it was, or its log grew by part of the delta; import again.',
      { cause: error },
    );
  } finally {
    if (stagingDir !== undefined) {
      await root.remove(stagingDir, { recursive: true }).catch(() => undefined);
    }
  }
}

/**
 * Why the copy here is not the delta's `base`, if it is not: a kept file missing or different
 * (size, SHA-256), a segment here the base does not keep, or another count of events.
 */
export async function baseProblem(options: {
  /**
   * The digest of a file of the copy here, by its path in the bundle (`undefined`: there is
   * none); see `fileDigest`.
   */
  digest: (path: string) => Promise<FileDigest | undefined>;
  base: readonly BundleFile[];
  /** The copy's segments. */
  heldSegments: readonly string[];
  /** Where workspace files would be written (they are checked only then). */
  workspaceDir: string | undefined;
  /** Events in the base's segments. */
  baseEvents: number;
}): Promise<string | undefined> {
  const { base, workspaceDir } = options;
  const kept = new Set(base.map((file) => file.path));
  const extra = options.heldSegments.find((path) => !kept.has(path));
  if (extra !== undefined) return `it holds ${extra}, which the delta's base has not`;
  let lines = 0;
  for (const file of base) {
    // An earlier version listed the log's index, a cache each side rewrites: not compared.
    if (isDerived(file.path)) continue;
    let actual: { size: number; sha256: string } | undefined;
    if (file.path.startsWith(WORKSPACE_PREFIX)) {
      // Workspace files are only checked where they would be written.
      if (workspaceDir === undefined) continue;
      const path = join(workspaceDir, ...file.path.slice(WORKSPACE_PREFIX.length).split('/'));
      actual = await hashFile(path).catch((error: unknown) => {
        if (hasErrorCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
        throw error;
      });
    } else {
      const digest = await options.digest(file.path);
      if (digest !== undefined && phaseOf(file.path) === 'events') lines += digest.lines;
      actual = digest;
    }
    if (actual === undefined) return `${file.path} is missing here`;
    if (actual.size !== file.size || actual.sha256 !== file.sha256) {
      return `${file.path} differs here (${actual.size} bytes, the base has ${file.size}; edited, truncated or another fork)`;
    }
  }
  if (lines !== options.baseEvents) {
    return `its segments hold ${lines} events, the base ${options.baseEvents}`;
  }
  return undefined;
}

/** Writes the delta into the conversation's folder; undoes the log's growth on a failure. */
async function apply(options: {
  folder: FileStore;
  staging: FileStore;
  manifest: BundleManifest;
  held: { side: string[] };
}): Promise<void> {
  const { folder, staging, manifest } = options;
  const base = new Map((manifest.base?.files ?? []).map((file) => [file.path, file]));
  const segments = manifest.files
    .filter((file) => phaseOf(file.path) === 'events')
    .sort((left, right) => segmentOrder(left.path) - segmentOrder(right.path));
  const grown: BundleFile[] = [];
  const created: string[] = [];
  try {
    for (const file of segments) {
      const data = (await staging.read(file.path)) ?? new Uint8Array(0);
      const kept = base.get(file.path);
      if (kept !== undefined) {
        grown.push(kept);
        if (data.length > 0) await folder.append(file.path, data);
      } else {
        created.push(file.path);
        await folder.writeAtomic(file.path, data);
      }
    }
    const sent = new Set(manifest.files.map((file) => file.path));
    for (const file of manifest.files) {
      if (phaseOf(file.path) !== 'files' || file.path === BASE_STATE_FILE) continue;
      if (isDerived(file.path)) continue;
      await folder.writeAtomic(file.path, (await staging.read(file.path)) ?? new Uint8Array(0));
    }
    for (const path of options.held.side) {
      if (!sent.has(path) && !base.has(path)) await folder.remove(path);
    }
    // The commit point: the state that goes with the longer log.
    await folder.writeAtomic(
      BASE_STATE_FILE,
      (await staging.read(BASE_STATE_FILE)) ?? new Uint8Array(0),
    );
  } catch (error) {
    for (const file of grown) await folder.truncate(file.path, file.size).catch(() => undefined);
    for (const path of created) await folder.remove(path).catch(() => undefined);
    throw error;
  }
}
