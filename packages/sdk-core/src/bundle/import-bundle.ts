import { randomUUID } from 'node:crypto';
import { BASE_STATE_FILE } from '../store/file-layout';
import { conversationFolderName } from '../store/conversation-id';
import { BundleConflictError } from '../errors/bundle-conflict-error';
import { FerryError } from '../errors/ferry-error';
import { ConversationLock } from '../persistence/conversation-lock';
import type { FileStore } from '../persistence/file-store';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { LocalFileStore } from '../persistence/local-file-store';
import { noteSegmentDigests, rememberScannedLog } from '../persistence/scanned-log';
import type { ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { hasErrorCode } from '../persistence/system-error';
import { WORKSPACE_PREFIX, type BundleManifest, type BundleProgress } from './bundle-manifest';
import {
  checkManifestContents,
  extract,
  extractOptions,
  phaseOf,
  readManifestEntry,
  readerLimits,
  stagedEvents,
  stagedState,
  toReadable,
  type BundleReadLimits,
  type BundleSource,
} from './bundle-extract';
import { importDelta, type DeltaInput } from './import-delta';
import { importStoreDelta } from './import-store-delta';
import { readTarEntries, type TarEntry } from './tar-reader';
import { restoreWorkspace } from './restore-workspace';
import { isDerived } from './conversation-files';

export { DEFAULT_MAX_BUNDLE_BYTES, DEFAULT_MAX_BUNDLE_ENTRIES } from './bundle-extract';

const IMPORT_INTERRUPTED = 'BUNDLE_IMPORT_INTERRUPTED';

export type { BundleReadLimits, BundleSource } from './bundle-extract';

/**
 * A bundle whose manifest has been read and checked ({@link openBundle}), the rest still to read:
 * pass it as the `source` of {@link importConversationBundle}, or `close` it.
 */
export interface OpenedBundle {
  readonly manifest: BundleManifest;
  /** Stops reading the bundle (its source is closed) without importing it. */
  close(): Promise<void>;
}

class BundleReading implements OpenedBundle {
  #taken = false;

  constructor(
    readonly manifest: BundleManifest,
    readonly entries: AsyncGenerator<TarEntry>,
  ) {}

  /** The entries after the manifest, for the one import that reads them. */
  take(): AsyncGenerator<TarEntry> {
    if (this.#taken) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `The bundle of conversation ${this.manifest.conversation_id} was imported already: open it again to import it again.`,
      );
    }
    this.#taken = true;
    return this.entries;
  }

  async close(): Promise<void> {
    await this.entries.return(undefined);
  }
}

/** Options of {@link importConversationBundle}. */
export interface ImportBundleOptions extends BundleReadLimits {
  /**
   * The bundle: a `.tar.gz` file's path, its bytes, a stream of them (read as it arrives: each
   * entry is checked while the next is still coming), or an {@link OpenedBundle}, whose limits
   * are those it was opened with.
   */
  source: BundleSource | OpenedBundle;
  /**
   * Where the conversation goes: a `ConversationStore`, or the root folder of conversations as a
   * `FileStore` (the conversation goes to `store.scope(conversationFolderName(id))`).
   */
  store: ConversationStore | FileStore;
  /** Where to write the bundle's workspace files, if it has them; left out, they are not written. */
  workspaceDir?: string;
  /**
   * Replace an existing conversation with the same id, and workspace files whose content
   * differs (default `false`: `BundleConflictError`, nothing changed).
   */
  overwrite?: boolean;
  /** Told as the bundle's files are checked and staged. */
  onProgress?: (progress: BundleProgress) => void;
  /**
   * Import the conversation parked, as living at `to` (its state's `teleport`, with this
   * bundle's id), in the same write as the rest: it is never runnable here before the caller
   * clears the mark (a teleport confirming the arrival).
   */
  parkedFor?: { to: string };
  /**
   * Called once the whole bundle is read, checked and staged, before anything else changes:
   * throwing cancels the import, nothing changed (e.g. to finish reading a request that carries
   * more than the bundle).
   */
  beforeCommit?: (manifest: BundleManifest) => Promise<void>;
  /**
   * The conversation is opened right after, in this process: keep the events the import checked
   * for that open (the next one within 30 s), which then does not parse the log again. Only into
   * a local folder; the events' memory is held until then. Default `false`.
   */
  keepCheckedLog?: boolean;
}

/** What {@link importConversationBundle} imported. */
export interface ImportBundleResult {
  manifest: BundleManifest;
  /** The conversation's id (lowercase, with dashes). */
  conversationId: string;
}

/**
 * Reads and validates a bundle's `manifest.json` (its first entry) without importing anything.
 *
 * @throws BundleFormatError for anything but a valid manifest of a supported version.
 */
export async function readBundleManifest(
  source: BundleSource,
  limits: BundleReadLimits = {},
): Promise<BundleManifest> {
  const bundle = await openBundle(source, limits);
  await bundle.close();
  return bundle.manifest;
}

/**
 * Reads and validates a bundle's `manifest.json` (its first entry) and stops there, so that the
 * caller can decide what to do with the conversation it names before importing it (pass the
 * result as `source` to {@link importConversationBundle}) or not (`close` it). A stream is read
 * only as far as the manifest.
 *
 * @throws BundleFormatError for anything but a valid manifest of a supported version.
 */
export async function openBundle(
  source: BundleSource,
  limits: BundleReadLimits = {},
): Promise<OpenedBundle> {
  const entries = readTarEntries(toReadable(source), readerLimits(limits));
  try {
    return new BundleReading(await readManifestEntry(entries), entries);
  } catch (error) {
    await entries.return(undefined);
    throw error;
  }
}

/** The bundle's entries and, when it was opened already, its manifest. */
function bundleEntries(options: ImportBundleOptions): {
  entries: AsyncGenerator<TarEntry>;
  manifest?: BundleManifest;
} {
  const { source } = options;
  if (source instanceof BundleReading) return { entries: source.take(), manifest: source.manifest };
  if (isOpenedBundle(source)) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      'importConversationBundle: pass a bundle opened with openBundle(), a path, bytes or a stream.',
    );
  }
  return { entries: readTarEntries(toReadable(source), readerLimits(options)) };
}

function isOpenedBundle(source: BundleSource | OpenedBundle): source is OpenedBundle {
  return typeof source === 'object' && 'manifest' in source && 'close' in source;
}

/**
 * Imports a conversation bundle, all or nothing.
 *
 * The archive is read strictly (see `readTarEntries`: no path escapes, links, devices or tar
 * bombs) into a staging folder of the root store, `.import-<uuid>/`, and checked: manifest
 * format and version, every file's size and SHA-256, the event count against the segments'
 * lines (each a valid event), and `base_state.json` (a valid state of the manifest's
 * conversation, secrets redacted). Only then are workspace files written (when `workspaceDir`
 * is given) and the conversation renamed into place, one rename; with `overwrite` the existing
 * folder is first moved aside under its lock (`ConversationLockedError` while it is open), then
 * deleted. A failure before that leaves the target root as it was.
 *
 * The imported state still names the exporter's `persistence_dir` and workspace; opening the
 * conversation replaces both with the runtime ones. Secrets arrive redacted: open it with the
 * agent (and its keys) to run it.
 *
 * @throws BundleFormatError, BundleSecurityError, BundleTooLargeError, BundleConflictError,
 *   ConversationLockedError.
 */
export async function importConversationBundle(
  options: ImportBundleOptions,
): Promise<ImportBundleResult> {
  const { store } = options;
  if (!isConversationStore(store)) return importIntoFolder({ ...options, store });
  if (store instanceof FileConversationStore) {
    return importIntoFolder({ ...options, store: store.fileStore });
  }
  return importIntoStore({ ...options, store });
}

/** The folder layout: staged beside the conversations, then renamed into place. */
async function importIntoFolder(
  options: ImportBundleOptions & { store: FileStore },
): Promise<ImportBundleResult> {
  const root = options.store;
  const overwrite = options.overwrite ?? false;
  const { entries, manifest: opened } = bundleEntries(options);
  const rootExisted = await root.exists('');
  const stagingDir = `.import-${randomUUID()}`;
  try {
    const manifest = opened ?? (await readManifestEntry(entries));
    const conversationId = manifest.conversation_id;
    const folder = conversationFolderName(conversationId);
    checkManifestContents(manifest);
    if (manifest.base !== undefined) {
      await importDelta({ root, ...deltaInput(options, manifest, entries) });
      return { manifest, conversationId };
    }
    if (!overwrite && (await root.list(folder)).length > 0) {
      throw new BundleConflictError({ conversationId, location: root.describe(folder) });
    }

    const staging = root.scope(stagingDir);
    // The segments land as files: an open reads their events when it needs them (every line is
    // checked here all the same), so a large log costs little memory to receive.
    const scanned = await extract({
      entries,
      manifest,
      staging,
      ...extractOptions(options),
      keepEvents: false,
    });

    // Before anything outside the staging folder changes, the conversation it replaces (if
    // any) must be free: its lock is held until the swap is done.
    const existing = (await root.list(folder)).length > 0;
    if (existing && !overwrite) {
      throw new BundleConflictError({ conversationId, location: root.describe(folder) });
    }
    const lock = existing
      ? await ConversationLock.acquire({ store: root.scope(folder), onWarning: () => undefined })
      : undefined;
    try {
      await restoreBundleWorkspace(options, manifest, staging, overwrite);
      // The commit point: the conversation appears in its folder in one rename.
      const staged = `${stagingDir}/conversation`;
      if (existing) {
        await replaceConversation({ root, folder, staged, stagingDir, conversationId });
      } else {
        await root.remove(folder);
        try {
          await root.rename(staged, folder);
        } catch (error) {
          if (!hasErrorCode(error, 'EEXIST', 'ENOTEMPTY')) throw error;
          throw new BundleConflictError({ conversationId, location: root.describe(folder) });
        }
      }
    } finally {
      await lock?.release();
    }
    await root.remove(stagingDir, { recursive: true }).catch(() => undefined);
    if (scanned !== undefined && root instanceof LocalFileStore) {
      await noteSegmentDigests(root.scope(folder), scanned);
    }
    // The open that follows (a teleport's arrival) need not read the log again. Only with a
    // local folder, whose location names it uniquely in this process.
    if (
      options.keepCheckedLog === true &&
      scanned !== undefined &&
      root instanceof LocalFileStore
    ) {
      await rememberScannedLog(root.scope(folder), scanned);
    }
    return { manifest, conversationId };
  } catch (error) {
    // After a failed swap the staging folder may hold the previous copy: keep it then.
    const keepStaging = FerryError.isInstance(error) && error.code === IMPORT_INTERRUPTED;
    if (!keepStaging) {
      await root.remove(stagingDir, { recursive: true }).catch(() => undefined);
      // Only succeeds when empty: a root this import created goes away again.
      if (!rootExisted) await root.remove('').catch(() => undefined);
    }
    if (FerryError.isInstance(error)) throw error;
    // A disk failure (ENOSPC, EIO, EACCES, ...) while staging or renaming: nothing was imported.
    throw new FerryError(
      'BUNDLE_IMPORT_FAILED',
      `Importing the bundle into ${root.describe('')} failed (${error instanceof Error ? error.message : String(error)}). ` +
        'Nothing was imported; fix the cause and import again.',
      { cause: error },
    );
  } finally {
    await entries.return(undefined);
  }
}

/**
 * Any other store: the bundle is checked and staged in memory, then written under the
 * conversation's lease (`ConversationLockedError` while it is open): events and side files
 * first, the state last, since a conversation exists once it has a state. What a crash leaves
 * of an import without its state is replaced by the next one.
 */
async function importIntoStore(
  options: ImportBundleOptions & { store: ConversationStore },
): Promise<ImportBundleResult> {
  const { store } = options;
  const overwrite = options.overwrite ?? false;
  const { entries, manifest: opened } = bundleEntries(options);
  try {
    const manifest = opened ?? (await readManifestEntry(entries));
    const conversationId = manifest.conversation_id;
    checkManifestContents(manifest);
    if (manifest.base !== undefined) {
      await importStoreDelta({ store, ...deltaInput(options, manifest, entries) });
      return { manifest, conversationId };
    }
    const conflict = () =>
      new BundleConflictError({ conversationId, location: store.describe(conversationId) });
    if (!overwrite && (await store.readState(conversationId)) !== undefined) throw conflict();
    const staging = new InMemoryFileStore();
    const scanned = await extract({ entries, manifest, staging, ...extractOptions(options) });
    let lease = await store.acquireLease(conversationId, { onWarning: () => undefined });
    try {
      const existing = (await store.readState(conversationId)) !== undefined;
      if (existing && !overwrite) throw conflict();
      await restoreBundleWorkspace(options, manifest, staging, overwrite);
      if (existing || (await store.eventCount(conversationId)) > 0) {
        await store.deleteConversation(conversationId, lease, { replacing: true });
        lease = await store.acquireLease(conversationId, { onWarning: () => undefined });
      }
      const conversation = staging.scope('conversation');
      const files: string[] = [];
      for (const file of manifest.files) {
        if (file.path === BASE_STATE_FILE || file.path.startsWith(WORKSPACE_PREFIX)) continue;
        if (isDerived(file.path)) continue;
        if (phaseOf(file.path) !== 'events') files.push(file.path);
      }
      const events = await stagedEvents(conversation, manifest.files, scanned);
      if (events.length > 0) await store.appendEvents(lease, events);
      const sideFiles = store.files(conversationId);
      for (const path of files) {
        await sideFiles.writeAtomic(path, (await conversation.read(path)) ?? new Uint8Array(0));
      }
      await store.writeState(lease, await stagedState(conversation));
    } finally {
      await store.releaseLease(lease);
    }
    return { manifest, conversationId };
  } finally {
    await entries.return(undefined);
  }
}

/** What applying a delta bundle needs of the import's options. */
function deltaInput(
  options: ImportBundleOptions,
  manifest: BundleManifest,
  entries: AsyncGenerator<TarEntry>,
): DeltaInput {
  return {
    manifest,
    entries,
    workspaceDir: options.workspaceDir,
    onProgress: options.onProgress,
    parkedFor: options.parkedFor,
    beforeCommit: options.beforeCommit,
    restoreWorkspace: (staging) =>
      restoreBundleWorkspace(options, manifest, staging, options.overwrite ?? false),
  };
}

/** Writes the bundle's workspace files (when asked to) from the staging store. */
async function restoreBundleWorkspace(
  options: ImportBundleOptions,
  manifest: BundleManifest,
  staging: FileStore,
  overwrite: boolean,
): Promise<void> {
  const workspaceFiles = manifest.files.filter((file) => file.path.startsWith(WORKSPACE_PREFIX));
  if (options.workspaceDir === undefined || workspaceFiles.length === 0) return;
  await restoreWorkspace({
    staging: staging.scope('workspace'),
    dir: options.workspaceDir,
    files: workspaceFiles.map((file) => ({
      ...file,
      path: file.path.slice(WORKSPACE_PREFIX.length),
    })),
    overwrite,
    conversationId: manifest.conversation_id,
  });
}

/**
 * Swaps the staged conversation in for the existing one (whose lock the caller holds). A crash
 * in between leaves the old copy in the staging folder, never a half-imported one in place.
 * When the swap fails the old copy is moved back; if even that fails, the error says where it is.
 */
async function replaceConversation(input: {
  root: FileStore;
  folder: string;
  staged: string;
  stagingDir: string;
  conversationId: string;
}): Promise<void> {
  const { root, folder, staged } = input;
  const previous = `${input.stagingDir}/previous`;
  await root.rename(folder, previous);
  try {
    await root.rename(staged, folder);
  } catch (error) {
    try {
      await root.rename(previous, folder);
    } catch (restoreError) {
      throw new FerryError(
        IMPORT_INTERRUPTED,
        `Importing conversation ${input.conversationId} failed after its previous copy was ` +
          `moved aside, and moving it back failed too (${String(restoreError)}). The ` +
          `previous copy is in ${root.describe(previous)}: move it back to ` +
          `${root.describe(folder)}.`,
        { cause: error },
      );
    }
    throw error;
  }
}
