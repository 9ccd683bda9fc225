import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { BASE_STATE_FILE } from '../store/file-layout';
import { conversationStateSchema, type ConversationState } from '../conversation/state-schema';
import { FerryError } from '../errors/ferry-error';
import { countNewlines, fileDigest, type FileDigest } from '../persistence/file-digests';
import type { FileStore } from '../persistence/file-store';
import { formatJson, readJson } from '../persistence/json-file';
import type { ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { redactState } from '../secrets/secret-codec';
import type { BundleBase } from './bundle-base';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  DELTA_BUNDLE_VERSION,
  MANIFEST_FILE,
  WORKSPACE_PREFIX,
  type BundleManifest,
  type BundleProgress,
} from './bundle-manifest';
import { bundlePathProblem } from './bundle-path';
import { canonicalId } from './conversation-id';
import { isSegment, listConversationFiles, sha256 } from './conversation-files';
import { planDelta, type SourceFile } from './delta-plan';
import { STORE_LOG_SEGMENT, storeLog } from './store-log';
import {
  lastLineStart,
  scanLastLine,
  streamedSegments,
  type StreamedSegment,
} from './streamed-segments';
import { coalesced, tarChunks, type Outgoing, type StreamedEntry } from './bundle-tar-stream';
import { listWorkspaceFiles } from './workspace-files';

import { DEFAULT_MAX_WORKSPACE_BYTES } from './workspace-limits';

export { DEFAULT_MAX_WORKSPACE_BYTES } from './workspace-limits';

/** Options of {@link exportConversationBundle}. */
export interface ExportBundleOptions {
  /**
   * Where the conversation is: a `ConversationStore` (with `conversationId`), or the
   * conversation's own folder as a `FileStore` (`root.scope(conversationFolderName(id))`).
   */
  store: ConversationStore | FileStore;
  /** The conversation to export; required with a `ConversationStore`. */
  conversationId?: string;
  /** A local folder whose files go in the bundle under `workspace/` (optional). */
  workspaceDir?: string;
  /** Most bytes of workspace files (default 200 MiB); more is `BundleTooLargeError`. */
  maxWorkspaceBytes?: number;
  /** Told as the bundle's files are streamed out. */
  onProgress?: (progress: BundleProgress) => void;
  /**
   * What the destination already holds (its `readBundleBase()`): the bundle is then a delta
   * (version 2) carrying only what it lacks, when its copy is a prefix of this one; otherwise
   * the whole conversation (see `baseRefused`).
   */
  base?: BundleBase;
}

/** What {@link exportConversationBundle} gives. */
export interface ExportedBundle {
  manifest: BundleManifest;
  stream: Readable;
  /** With a `base` the bundle could not extend: why it holds the whole conversation. */
  baseRefused?: string;
}

type StoreFile = SourceFile;

/**
 * Exports a conversation as a bundle: a gzip-compressed tar whose first entry is
 * `manifest.json` (format, version, ids, event count, the size and SHA-256 of every file),
 * then `base_state.json` with every secret redacted, the event segments, the tool side files
 * (`TASKS.json`, `observations/`, `file_edits/`; everything but `.lock` and temp files) and,
 * with `workspaceDir`, the workspace's files under `workspace/` (see `.gitignore` handling in
 * {@link listWorkspaceFiles}).
 *
 * The conversation's files are read (and the log's last line checked) before this resolves, so
 * the bundle is a consistent snapshot of them; pause a running conversation first to capture a
 * step boundary. The event segments of a folder (without `base`) and workspace files are hashed
 * now and streamed later, a segment up to the size it had (so appends meanwhile do not matter):
 * one cut short or changed in between fails the stream with `BUNDLE_SOURCE_CHANGED` rather than
 * giving a bundle that does not match its manifest.
 *
 * @throws FerryError `CONVERSATION_NOT_FOUND` without a `base_state.json`; `CorruptEventLogError`
 *   for a damaged log; `BundleTooLargeError` when the workspace is over `maxWorkspaceBytes`.
 */
export async function exportConversationBundle(
  options: ExportBundleOptions,
): Promise<ExportedBundle> {
  const source = await conversationSource(options);
  const { state, folder, proofs, streamed } = source;
  let conversationFiles = source.storeFiles;
  const conversationId = canonicalId(state.id);
  const stateFile: StoreFile = {
    path: BASE_STATE_FILE,
    data: Buffer.from(formatJson(state)),
    phase: 'files',
    events: 0,
  };
  let allFiles = [stateFile, ...conversationFiles];
  const allWorkspaceFiles =
    options.workspaceDir === undefined
      ? []
      : await listWorkspaceFiles({
          dir: options.workspaceDir,
          maxBytes: options.maxWorkspaceBytes ?? DEFAULT_MAX_WORKSPACE_BYTES,
        });
  const plan =
    options.base === undefined
      ? undefined
      : planDelta({
          conversationId,
          base: options.base,
          storeFiles: allFiles,
          workspaceFiles: allWorkspaceFiles,
          proofs,
        });
  const delta = plan?.kind === 'delta' ? plan : undefined;
  if (delta === undefined && folder !== undefined && conversationFiles.some(isPartial)) {
    // The whole conversation travels after all: read the segments whole.
    conversationFiles = await folderFiles(folder);
    allFiles = [stateFile, ...conversationFiles];
  }
  const storeFiles = checkSegments(
    delta?.storeFiles ?? allFiles,
    options.store,
    delta?.offsets ?? new Map(),
  );
  const workspaceFiles = delta?.workspaceFiles ?? allWorkspaceFiles;
  const sentEvents =
    storeFiles.reduce((sum, file) => sum + file.events, 0) +
    streamed.reduce((sum, segment) => sum + segment.events, 0);
  // A whole segment's digest is remembered (a local folder), for proving it again on the way back.
  const digests: (FileDigest | undefined)[] = [];
  for (const file of storeFiles) {
    digests.push(
      folder !== undefined && delta === undefined && file.phase === 'events'
        ? await fileDigest(folder, file.path, { length: file.data.length, data: file.data })
        : undefined,
    );
  }

  // In bundle order: the state, the streamed segments (if any), then the other files.
  const outgoing: Outgoing[] = storeFiles.map((file, index) => ({
    kind: 'data',
    file,
    sha256: digests[index]?.sha256 ?? sha256(file.data),
  }));
  const afterState = outgoing.findIndex((entry) => entry.file.path === BASE_STATE_FILE) + 1;
  const entries: (Outgoing | StreamedEntry)[] = [
    ...outgoing.slice(0, afterState),
    ...streamed.map((segment) => ({ kind: 'streamed' as const, segment })),
    ...outgoing.slice(afterState),
  ];

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: delta === undefined ? BUNDLE_VERSION : DELTA_BUNDLE_VERSION,
    bundle_id: randomUUID(),
    conversation_id: conversationId,
    created_at: new Date().toISOString(),
    event_count: sentEvents + (delta?.base.event_count ?? 0),
    ...(delta === undefined ? {} : { base: delta.base }),
    includes_workspace: options.workspaceDir !== undefined,
    files: [
      ...entries.map((entry) =>
        entry.kind === 'streamed'
          ? { path: entry.segment.path, size: entry.segment.size, sha256: entry.segment.sha256 }
          : { path: entry.file.path, size: entry.file.data.length, sha256: entry.sha256 },
      ),
      ...workspaceFiles.map((file) => ({
        path: `${WORKSPACE_PREFIX}${file.path}`,
        size: file.size,
        sha256: file.sha256,
        ...(file.executable ? { executable: true } : {}),
      })),
    ],
  };
  const chunks = tarChunks({
    manifest,
    entries,
    folder,
    workspaceFiles,
    onProgress: options.onProgress,
  });
  // The fastest level: event logs compress about 6x even so, and level 6 took most of an
  // export's time (the bundle is about 40% larger). Larger output pieces than the default 16 KiB
  // mean fewer trips to the compressing thread and fewer, larger writes to the upload.
  const gzip = createGzip({ level: constants.Z_BEST_SPEED, chunkSize: 256 * 1024 });
  // pipeline destroys the gzip stream with the source's error, so a reader sees the failure.
  // A delta is small and its time is latency: its pieces go to gzip joined (see `coalesced`).
  // A whole log's large pieces go as they are (joining measured slower there).
  const pieces = delta === undefined ? chunks : coalesced(chunks);
  pipeline(Readable.from(pieces), gzip).catch(() => undefined);
  return { manifest, stream: gzip, ...(plan?.kind === 'full' ? { baseRefused: plan.reason } : {}) };
}

/**
 * Counts the events of the segments (or, in a delta, the tails) about to travel, and leaves out
 * a torn last line of the log (an append in flight, or a crash), checked as `EventLog.open`
 * checks it, so the bundle holds whole events only. The other lines are not parsed here: the
 * importer checks every event (and a live conversation's log was checked when it was opened).
 */
function checkSegments(
  files: StoreFile[],
  store: ConversationStore | FileStore,
  offsets: ReadonlyMap<string, number>,
): StoreFile[] {
  const lastSegment = files.findLast((file) => file.phase === 'events');
  const describe = (path: string) =>
    isConversationStore(store) ? `${store.describe()} ${path}` : store.describe(path);
  return files.map((file) => {
    if (file.phase !== 'events') return file;
    if (file !== lastSegment) return { ...file, events: countNewlines(file.data) };
    // Only the last line can be torn: check it alone.
    const data = file.data;
    const lastStart = lastLineStart(data);
    const offset = offsets.get(file.path) ?? 0;
    const scan = scanLastLine(
      data.subarray(lastStart),
      `${describe(file.path)} (from byte ${offset + lastStart})`,
    );
    const valid = data.subarray(0, lastStart + scan.validBytes);
    return { ...file, data: valid, events: countNewlines(valid) + (scan.unterminated ? 1 : 0) };
  });
}

/**
 * Writes a bundle to `file` (see {@link exportConversationBundle}). The file appears only
 * once complete: it is written under a temporary name in the same folder and renamed.
 */
export async function writeConversationBundle(
  options: ExportBundleOptions & { file: string },
): Promise<BundleManifest> {
  const { manifest, stream } = await exportConversationBundle(options);
  const temporary = join(dirname(options.file), `.${basename(options.file)}.${randomUUID()}.tmp`);
  try {
    await pipeline(stream, createWriteStream(temporary, { flags: 'wx' }));
    await rename(temporary, options.file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return manifest;
}

/**
 * The conversation's redacted state and its files: a folder's segments as they are on disk, or
 * a store's events as one segment, plus the side files.
 */
async function conversationSource(options: ExportBundleOptions): Promise<{
  state: ConversationState;
  storeFiles: StoreFile[];
  /** The folder the segments were read from, when they are files. */
  folder?: FileStore;
  /** See {@link prefixProofs}. */
  proofs?: Map<string, FileDigest>;
  /** The segments that travel straight from their files (the whole log of a folder). */
  streamed: StreamedSegment[];
}> {
  const { store } = options;
  if (!isConversationStore(store)) return folderSource(store, options.base);
  if (options.conversationId === undefined) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      'exportConversationBundle: pass `conversationId` with a ConversationStore.',
    );
  }
  const id = canonicalId(options.conversationId);
  const folder = store.files(id);
  if (store instanceof FileConversationStore) return folderSource(folder, options.base);
  const location = store.describe(id);
  const state = redactedState(await store.readState(id), location, location);
  const log = await storeLog(store, id);
  const storeFiles: StoreFile[] =
    log.events === 0
      ? []
      : [{ path: STORE_LOG_SEGMENT, data: log.data, phase: 'events', events: log.events }];
  return {
    state,
    storeFiles: [
      ...storeFiles,
      ...(await sideFiles(folder, (await listConversationFiles(folder)).side)),
    ],
    streamed: [],
  };
}

function redactedState(persisted: unknown, location: string, stateLocation: string) {
  if (persisted === undefined) {
    throw new FerryError(
      'CONVERSATION_NOT_FOUND',
      `No conversation to export in ${location}: it has no state (${BASE_STATE_FILE}).`,
    );
  }
  const parsed = conversationStateSchema.safeParse(persisted);
  if (!parsed.success) {
    throw new FerryError(
      'INVALID_STATE_DOCUMENT',
      `${stateLocation} is not a valid conversation state: ${parsed.error.message}`,
      { cause: parsed.error },
    );
  }
  // Encrypted secrets too: the receiver has no business with this side's key.
  return redactState(parsed.data);
}

/**
 * A conversation folder: its segments travel byte for byte, streamed from their files when the
 * whole log goes (no `base`), read (from past what `base` proves) otherwise.
 */
async function folderSource(folder: FileStore, base: BundleBase | undefined) {
  const persisted = await readJson(folder, BASE_STATE_FILE);
  const state = redactedState(persisted, folder.describe(''), folder.describe(BASE_STATE_FILE));
  if (base === undefined) {
    const { segments, side } = await listConversationFiles(folder);
    const streamed = await streamedSegments(folder, segments);
    return { state, storeFiles: await sideFiles(folder, side), folder, streamed };
  }
  const proofs = await prefixProofs(folder, base);
  return { state, storeFiles: await folderFiles(folder, proofs), folder, proofs, streamed: [] };
}

/**
 * A folder's segments in log order (bytes as they are, checked later), then its side files. A
 * segment whose first bytes `proofs` already proves is read from its last proved byte on (see
 * `SourceFile.start`), when the store can read a range.
 */
async function folderFiles(
  store: FileStore,
  proofs?: ReadonlyMap<string, FileDigest>,
): Promise<StoreFile[]> {
  const { segments, side } = await listConversationFiles(store);
  const files: StoreFile[] = [];
  for (const path of segments) {
    const proved = proofs?.get(path)?.size ?? 0;
    const size = proved > 0 && store.readRange !== undefined ? await store.size(path) : undefined;
    if (size !== undefined && size >= proved && store.readRange !== undefined) {
      const start = proved - 1;
      const data = (await store.readRange(path, start, size)) ?? new Uint8Array(0);
      files.push({ path, data, phase: 'events', events: 0, start });
      continue;
    }
    const data = (await store.read(path)) ?? new Uint8Array(0);
    files.push({ path, data, phase: 'events', events: 0 });
  }
  return [...files, ...(await sideFiles(store, side))];
}

/** A segment read from past its start (see `SourceFile.start`). */
function isPartial(file: StoreFile): boolean {
  return (file.start ?? 0) > 0;
}

/**
 * The digests of this side's segments cut where the destination's copy ends (`base`), by path,
 * for `planDelta` to compare: remembered ones (a local folder that exported, imported or
 * appended to them, unchanged otherwise since) cost a `stat`; others are read and hashed.
 */
async function prefixProofs(
  folder: FileStore,
  base: BundleBase | undefined,
): Promise<Map<string, FileDigest>> {
  const proofs = new Map<string, FileDigest>();
  // A base described as one segment is compared with this side's segments joined.
  if (base === undefined || base.single_segment === true) return proofs;
  for (const held of base.files) {
    if (!isSegment(held.path) || held.size === 0) continue;
    const digest = await fileDigest(folder, held.path, { length: held.size });
    if (digest?.size === held.size) proofs.set(held.path, digest);
  }
  return proofs;
}

/** The side files (see `listConversationFiles`), refusing paths a bundle cannot carry. */
async function sideFiles(store: FileStore, paths: readonly string[]): Promise<StoreFile[]> {
  const files: StoreFile[] = [];
  for (const path of paths) {
    if (path === MANIFEST_FILE || path.startsWith(WORKSPACE_PREFIX)) {
      throw new FerryError(
        'BUNDLE_RESERVED_PATH',
        `Cannot export ${store.describe(path)}: "${path}" is reserved for the bundle itself. Move it out of the conversation folder.`,
      );
    }
    const problem = bundlePathProblem(path);
    if (problem !== undefined) {
      throw new FerryError(
        'BUNDLE_UNSUPPORTED_PATH',
        `Cannot export ${store.describe(path)}: it ${problem}.`,
      );
    }
    const data = await store.read(path);
    // Gone since it was listed (a tool replaced it): nothing to carry.
    if (data !== undefined) files.push({ path, data, phase: 'files', events: 0 });
  }
  return files;
}
