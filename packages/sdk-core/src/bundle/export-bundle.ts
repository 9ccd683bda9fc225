import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { BASE_STATE_FILE, EVENTS_DIR } from '../store/file-layout';
import { conversationStateSchema, type ConversationState } from '../conversation/state-schema';
import { FerryError } from '../errors/ferry-error';
import { scanSegment, segmentName, segmentNumber } from '../persistence/event-log-segment';
import type { FileStore } from '../persistence/file-store';
import { formatJson, readJson } from '../persistence/json-file';
import type { StoredEvent } from '../persistence/stored-event';
import type { ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { hasErrorCode } from '../persistence/system-error';
import { redactState } from '../secrets/secret-codec';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  MANIFEST_FILE,
  WORKSPACE_PREFIX,
  type BundleManifest,
  type BundleProgress,
} from './bundle-manifest';
import { bundlePathProblem } from './bundle-path';
import { canonicalId } from './conversation-id';
import { TAR_END, tarFileHeader, tarPadding } from './tar-writer';
import { listWorkspaceFiles, type WorkspaceFile } from './workspace-files';

/** The default `maxWorkspaceBytes`: 200 MiB. */
export const DEFAULT_MAX_WORKSPACE_BYTES = 200 * 1024 * 1024;

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
}

/** What a bundle holds, read from the store before anything is streamed. */
interface StoreFile {
  path: string;
  data: Uint8Array;
  phase: 'events' | 'files';
  /** Events in this file (segments only). */
  events: number;
}

/**
 * Exports a conversation as a bundle: a gzip-compressed tar whose first entry is
 * `manifest.json` (format, version, ids, event count, the size and SHA-256 of every file),
 * then `base_state.json` with every secret redacted, the event segments, the tool side files
 * (`TASKS.json`, `observations/`, `file_edits/`; everything but `.lock` and temp files) and,
 * with `workspaceDir`, the workspace's files under `workspace/` (see `.gitignore` handling in
 * {@link listWorkspaceFiles}).
 *
 * The conversation's files are read (and the log checked) before this resolves, so the bundle
 * is a consistent snapshot of them; pause a running conversation first to capture a step
 * boundary. Workspace files are hashed now and streamed later: one that changes in between
 * fails the stream with `BUNDLE_SOURCE_CHANGED` rather than giving a bundle that does not match
 * its manifest.
 *
 * @throws FerryError `CONVERSATION_NOT_FOUND` without a `base_state.json`; `CorruptEventLogError`
 *   for a damaged log; `BundleTooLargeError` when the workspace is over `maxWorkspaceBytes`.
 */
export async function exportConversationBundle(
  options: ExportBundleOptions,
): Promise<{ manifest: BundleManifest; stream: Readable }> {
  const { state, storeFiles: conversationFiles } = await conversationSource(options);
  const conversationId = canonicalId(state.id);
  const storeFiles = [
    { path: BASE_STATE_FILE, data: Buffer.from(formatJson(state)), phase: 'files', events: 0 },
    ...conversationFiles,
  ] satisfies StoreFile[];
  const workspaceFiles =
    options.workspaceDir === undefined
      ? []
      : await listWorkspaceFiles({
          dir: options.workspaceDir,
          maxBytes: options.maxWorkspaceBytes ?? DEFAULT_MAX_WORKSPACE_BYTES,
        });

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    bundle_id: randomUUID(),
    conversation_id: conversationId,
    created_at: new Date().toISOString(),
    event_count: storeFiles.reduce((sum, file) => sum + file.events, 0),
    includes_workspace: options.workspaceDir !== undefined,
    files: [
      ...storeFiles.map((file) => ({
        path: file.path,
        size: file.data.length,
        sha256: sha256(file.data),
      })),
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
    storeFiles,
    workspaceFiles,
    onProgress: options.onProgress,
  });
  // The fastest level: event logs compress about 6x even so, and level 6 took most of an
  // export's time (the bundle is about 40% larger).
  const gzip = createGzip({ level: constants.Z_BEST_SPEED });
  // pipeline destroys the gzip stream with the source's error, so a reader sees the failure.
  pipeline(Readable.from(chunks), gzip).catch(() => undefined);
  return { manifest, stream: gzip };
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
async function conversationSource(
  options: ExportBundleOptions,
): Promise<{ state: ConversationState; storeFiles: StoreFile[] }> {
  const { store } = options;
  if (!isConversationStore(store)) {
    const persisted = await readJson(store, BASE_STATE_FILE);
    return {
      state: redactedState(persisted, store.describe(''), store.describe(BASE_STATE_FILE)),
      storeFiles: [...(await eventSegments(store)), ...(await sideFiles(store))],
    };
  }
  if (options.conversationId === undefined) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      'exportConversationBundle: pass `conversationId` with a ConversationStore.',
    );
  }
  const id = canonicalId(options.conversationId);
  const folder = store.files(id);
  if (store instanceof FileConversationStore) {
    // The folder layout: its segments travel byte for byte.
    const persisted = await readJson(folder, BASE_STATE_FILE);
    return {
      state: redactedState(persisted, folder.describe(''), folder.describe(BASE_STATE_FILE)),
      storeFiles: [...(await eventSegments(folder)), ...(await sideFiles(folder))],
    };
  }
  const location = store.describe(id);
  const state = redactedState(await store.readState(id), location, location);
  const events = await store.readEvents(id);
  const segment = Buffer.from(events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  const storeFiles: StoreFile[] =
    events.length === 0
      ? []
      : [
          {
            path: `${EVENTS_DIR}/${segmentName(1)}`,
            data: segment,
            phase: 'events',
            events: events.length,
          },
        ];
  return { state, storeFiles: [...storeFiles, ...(await sideFiles(folder))] };
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
 * The log's segments in order, each checked line by line like `EventLog.open` does. A torn last
 * line (an append in flight, or a crash) is left out, so the bundle holds whole events only.
 */
async function eventSegments(store: FileStore): Promise<StoreFile[]> {
  const segments = (await store.list(EVENTS_DIR))
    .map((name) => ({ name, number: segmentNumber(name) }))
    .filter((entry): entry is { name: string; number: number } => entry.number !== undefined)
    .sort((left, right) => left.number - right.number);
  const events: StoredEvent[] = [];
  const ids = new Map<string, number>();
  const files: StoreFile[] = [];
  for (const [position, { name }] of segments.entries()) {
    const path = `${EVENTS_DIR}/${name}`;
    const bytes = (await store.read(path)) ?? new Uint8Array(0);
    const before = events.length;
    const scan = scanSegment({
      bytes,
      file: store.describe(path),
      allowTornLastLine: position === segments.length - 1,
      events,
      ids,
      locate: (index) => `event ${index + 1}`,
    });
    files.push({
      path,
      data: bytes.subarray(0, scan.validBytes),
      phase: 'events',
      events: events.length - before,
    });
  }
  return files;
}

/** Every other file of the conversation folder, sorted, but the lock and temp files. */
async function sideFiles(store: FileStore): Promise<StoreFile[]> {
  const files: StoreFile[] = [];
  for (const path of await filesUnder(store, '')) {
    if (path === BASE_STATE_FILE || path === '.lock' || isTemporary(path)) continue;
    if (
      path.startsWith(`${EVENTS_DIR}/`) &&
      segmentNumber(path.slice(EVENTS_DIR.length + 1)) !== undefined
    ) {
      continue;
    }
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

/** Paths of the files under `dir`, recursively, sorted. */
async function filesUnder(store: FileStore, dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const name of await store.list(dir)) {
    const path = dir === '' ? name : `${dir}/${name}`;
    let children: string[] | undefined;
    try {
      children = await filesUnder(store, path);
    } catch (error) {
      if (!hasErrorCode(error, 'ENOTDIR')) throw error;
    }
    if (children === undefined) paths.push(path);
    else paths.push(...children);
  }
  return paths;
}

/** The temp files of `writeAtomic` and `createExclusive`: `.<name>.<uuid>.tmp`. */
function isTemporary(path: string): boolean {
  return /^\..+\.tmp$/.test(path.slice(path.lastIndexOf('/') + 1));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface TarSource {
  manifest: BundleManifest;
  storeFiles: StoreFile[];
  workspaceFiles: WorkspaceFile[];
  onProgress: ((progress: BundleProgress) => void) | undefined;
}

async function* tarChunks(source: TarSource): AsyncGenerator<Buffer> {
  const { manifest, onProgress } = source;
  const mtime = new Date(manifest.created_at);
  const totalBytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
  let bytes = 0;
  let events = 0;
  const report = (phase: BundleProgress['phase']) =>
    onProgress?.({ phase, bytes, totalBytes, events });

  const manifestBytes = Buffer.from(formatJson(manifest));
  yield* fileEntry({ path: MANIFEST_FILE, size: manifestBytes.length, mtime }, manifestBytes);
  for (const file of source.storeFiles) {
    yield* fileEntry({ path: file.path, size: file.data.length, mtime }, Buffer.from(file.data));
    bytes += file.data.length;
    events += file.events;
    report(file.phase);
  }
  for (const file of source.workspaceFiles) {
    const path = `${WORKSPACE_PREFIX}${file.path}`;
    yield tarFileHeader({ path, size: file.size, executable: file.executable, mtime });
    for await (const chunk of verifiedContent(file)) {
      yield chunk;
      bytes += chunk.length;
      report('workspace');
    }
    yield tarPadding(file.size);
  }
  yield TAR_END;
}

function* fileEntry(
  header: { path: string; size: number; mtime: Date },
  data: Buffer,
): Generator<Buffer> {
  yield tarFileHeader(header);
  yield data;
  yield tarPadding(data.length);
}

/** A workspace file's content, failing if it no longer matches what the manifest says. */
async function* verifiedContent(file: WorkspaceFile): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  const changed = () =>
    new FerryError(
      'BUNDLE_SOURCE_CHANGED',
      `The workspace file ${file.absolute} changed while it was being exported; export again once it is stable.`,
    );
  for await (const chunk of createReadStream(file.absolute) as AsyncIterable<Buffer>) {
    size += chunk.length;
    // The tar header has promised `file.size` bytes: never send more.
    if (size > file.size) throw changed();
    hash.update(chunk);
    yield chunk;
  }
  if (size !== file.size || hash.digest('hex') !== file.sha256) throw changed();
}
