import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { BASE_STATE_FILE } from '../store/file-layout';
import { conversationStateSchema } from '../conversation/state-schema';
import { BundleFormatError } from '../errors/bundle-format-error';
import { CorruptEventLogError } from '../errors/corrupt-event-log-error';
import { FerryError } from '../errors/ferry-error';
import { scanSegment, segmentNumber } from '../persistence/event-log-segment';
import type { FileStore } from '../persistence/file-store';
import { ScannedLogBuilder, type ScannedLog } from '../persistence/scanned-log';
import type { StoredEvent } from '../persistence/stored-event';
import { REDACTED_SECRET } from '../secrets/secret-cipher';
import { mapStateSecrets } from '../secrets/secret-fields';
import {
  MANIFEST_FILE,
  WORKSPACE_PREFIX,
  parseBundleManifest,
  type BundleFile,
  type BundleManifest,
  type BundleProgress,
} from './bundle-manifest';
import { canonicalId } from './conversation-id';
import { joinPieces, readEntryData, type TarEntry, type TarReaderLimits } from './tar-reader';
import { isDerived } from './conversation-files';

/** A bundle: the path of a `.tar.gz` file, its bytes, or a stream of them. */
export type BundleSource = string | Uint8Array | Readable;

/** Limits on what reading a bundle may take. */
export interface BundleReadLimits {
  /** Most uncompressed bytes, all entries together and each one (default 1 GiB). */
  maxBytes?: number;
  /** Most archive entries (default 100 000). */
  maxEntries?: number;
}

/** The default `maxBytes` of an import: 1 GiB uncompressed. */
export const DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

/** The default `maxEntries` of an import. */
export const DEFAULT_MAX_BUNDLE_ENTRIES = 100_000;

export function readerLimits(limits: BundleReadLimits): TarReaderLimits {
  return {
    maxBytes: positive(limits.maxBytes, DEFAULT_MAX_BUNDLE_BYTES, 'maxBytes'),
    maxEntries: positive(limits.maxEntries, DEFAULT_MAX_BUNDLE_ENTRIES, 'maxEntries'),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new FerryError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}.`);
  }
  return value;
}

export function toReadable(source: BundleSource): Readable {
  if (typeof source === 'string') return createReadStream(source);
  if (source instanceof Uint8Array) {
    return Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]);
  }
  return source;
}

export async function readManifestEntry(
  entries: AsyncGenerator<TarEntry>,
): Promise<BundleManifest> {
  const first = await entries.next();
  if (first.done === true || first.value.path !== MANIFEST_FILE || first.value.type !== 'File') {
    throw new BundleFormatError({
      entry: MANIFEST_FILE,
      problem:
        first.done === true
          ? 'it is missing'
          : `it must be the archive's first entry, which is "${first.value.path}" instead`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse((await readEntryData(first.value)).toString('utf8'));
  } catch (error) {
    throw new BundleFormatError({
      entry: MANIFEST_FILE,
      problem: 'it is not valid JSON',
      cause: error,
    });
  }
  return parseBundleManifest(json);
}

export function checkManifestContents(manifest: BundleManifest): void {
  if (!manifest.files.some((file) => file.path === BASE_STATE_FILE)) {
    throw new BundleFormatError({
      entry: MANIFEST_FILE,
      problem: `it lists no ${BASE_STATE_FILE}`,
    });
  }
  const workspaceFile = manifest.files.find((file) => file.path.startsWith(WORKSPACE_PREFIX));
  if (!manifest.includes_workspace && workspaceFile !== undefined) {
    throw new BundleFormatError({
      entry: MANIFEST_FILE,
      problem: `it lists "${workspaceFile.path}" but says the workspace is not included`,
    });
  }
  if (manifest.base !== undefined) checkBase(manifest, manifest.base.files);
}

/** A delta's base: each path once; only an event segment both kept and sent (it grows). */
function checkBase(manifest: BundleManifest, base: readonly BundleFile[]): void {
  const sent = new Set(manifest.files.map((file) => file.path));
  const seen = new Set<string>();
  for (const file of base) {
    const problem = seen.has(file.path)
      ? 'is listed twice in its base'
      : file.path === BASE_STATE_FILE
        ? 'cannot be kept from the base: the state always travels'
        : sent.has(file.path) && phaseOf(file.path) !== 'events'
          ? 'is both kept from the base and sent'
          : file.path.startsWith(WORKSPACE_PREFIX) && !manifest.includes_workspace
            ? 'is a workspace file of a bundle without its workspace'
            : undefined;
    if (problem !== undefined) {
      throw new BundleFormatError({ entry: MANIFEST_FILE, problem: `"${file.path}" ${problem}` });
    }
    seen.add(file.path);
  }
}

export interface ExtractInput {
  entries: AsyncGenerator<TarEntry>;
  manifest: BundleManifest;
  staging: FileStore;
  withWorkspace: boolean;
  onProgress: ((progress: BundleProgress) => void) | undefined;
  parkedFor: { to: string } | undefined;
  /** Called once every entry is checked and staged, before anything else changes. */
  beforeCommit: ((manifest: BundleManifest) => Promise<void>) | undefined;
  /**
   * Keep the events checked in the scan it resolves with (default `true`); `false` when the
   * segments are imported as files, which an open reads when it needs them.
   */
  keepEvents?: boolean;
}

/** What `extract` takes from the import's options. */
export function extractOptions(options: {
  workspaceDir?: string | undefined;
  onProgress?: ((progress: BundleProgress) => void) | undefined;
  parkedFor?: { to: string } | undefined;
  beforeCommit?: ((manifest: BundleManifest) => Promise<void>) | undefined;
}): Pick<ExtractInput, 'withWorkspace' | 'onProgress' | 'parkedFor' | 'beforeCommit'> {
  return {
    withWorkspace: options.workspaceDir !== undefined,
    onProgress: options.onProgress,
    parkedFor: options.parkedFor,
    beforeCommit: options.beforeCommit,
  };
}

/**
 * Checks every entry against the manifest, as it arrives, and writes it to the staging store.
 * Resolves with the scan of the event segments when they came in log order (what an open of the
 * imported log can adopt instead of reading it again).
 */
export async function extract(input: ExtractInput): Promise<ScannedLog | undefined> {
  const { manifest, staging } = input;
  const expected = new Map<string, BundleFile>(manifest.files.map((file) => [file.path, file]));
  const seen = new Set<string>();
  const log = new ScannedLogBuilder({ keepEvents: input.keepEvents ?? true });
  const totalBytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
  let bytes = 0;

  for await (const entry of input.entries) {
    if (entry.type === 'Directory') continue;
    const file = expected.get(entry.path);
    if (file === undefined)
      throw formatError(entry.path, 'it is in the archive but not in the manifest');
    if (seen.has(entry.path)) throw formatError(entry.path, 'it appears twice in the archive');
    seen.add(entry.path);
    if (entry.size !== file.size) {
      throw formatError(entry.path, `it is ${entry.size} bytes but the manifest says ${file.size}`);
    }
    const phase = phaseOf(entry.path);
    if (phase === 'events') {
      await checkedContent(entry, file, log, segmentWriter(staging, `conversation/${entry.path}`));
      bytes += entry.size;
      input.onProgress?.({ phase, bytes, totalBytes, events: log.count });
      continue;
    }
    const data = joinPieces(await checkedContent(entry, file, undefined), entry.size);
    if (entry.path === BASE_STATE_FILE) checkState(data, manifest.conversation_id);
    if (entry.path === BASE_STATE_FILE && input.parkedFor !== undefined) {
      const state = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      const teleport = {
        to: input.parkedFor.to,
        at: new Date().toISOString(),
        bundle_id: manifest.bundle_id,
      };
      await staging.writeAtomic(
        `conversation/${entry.path}`,
        `${JSON.stringify({ ...state, teleport }, null, 2)}\n`,
      );
    } else if (isDerived(entry.path)) {
      // Checked like every entry, but not imported: the log's index is rebuilt here.
    } else if (phase === 'files') {
      await staging.writeAtomic(`conversation/${entry.path}`, data);
    } else if (input.withWorkspace) {
      await staging.writeAtomic(`workspace/${entry.path.slice(WORKSPACE_PREFIX.length)}`, data);
    }
    bytes += data.length;
    input.onProgress?.({ phase, bytes, totalBytes, events: log.count });
  }

  const missing = manifest.files.find((file) => !seen.has(file.path));
  if (missing !== undefined) {
    throw formatError(missing.path, 'it is listed in the manifest but missing from the archive');
  }
  // A delta's segments hold what comes after its base's events.
  const newEvents = manifest.event_count - (manifest.base?.event_count ?? 0);
  if (log.count !== newEvents) {
    throw formatError(
      MANIFEST_FILE,
      `it says ${newEvents} ${manifest.base === undefined ? '' : 'new '}events but the segments hold ${log.count}`,
    );
  }
  await input.beforeCommit?.(manifest);
  return log.result();
}

/** Receives an entry's content piece by piece, then learns it has all of it (or never will). */
interface ContentSink {
  write(piece: Buffer): Promise<void>;
  end(): Promise<void>;
  /** The content was cut short: stop writing, and settle what is under way. */
  abort(): Promise<void>;
}

/**
 * Appends a segment to its staging file as it arrives, the last piece with an fsync. A log of
 * many megabytes is never joined into one buffer (a large fresh allocation costs more than the
 * copy into it), and the writes go on in the background while the next pieces are checked;
 * `end` waits for them and reports the first that failed.
 */
function segmentWriter(staging: FileStore, path: string): ContentSink {
  let failure: Error | undefined;
  const failed = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };
  let writes: Promise<void> = staging.writeAtomic(path, new Uint8Array(0)).catch(failed);
  const append = (piece: Buffer, fsync: boolean) => {
    writes = writes
      .then(() => {
        if (failure !== undefined) return undefined;
        // Into the page cache at once where the store can: cheaper than the thread pool.
        if (!fsync && staging.appendSync !== undefined) return staging.appendSync(path, piece);
        return staging.append(path, piece, { fsync });
      })
      .catch(failed);
  };
  // One piece is held back, so that the last one can be written durably.
  let held: Buffer | undefined;
  return {
    write(piece) {
      if (failure !== undefined) return Promise.reject(failure);
      if (held !== undefined) append(held, false);
      held = piece;
      return Promise.resolve();
    },
    async end() {
      append(held ?? Buffer.alloc(0), true);
      await writes;
      if (failure !== undefined) throw failure;
    },
    // No write may land after the caller removes the staging folder: one would make it again.
    async abort() {
      failed(new Error(`${path}: cut short`));
      await writes;
    },
  };
}

/**
 * An entry's content in pieces, hashed (and, for a segment, each line checked as `EventLog.open`
 * would, no torn line allowed) as it arrives; with a `sink`, handed to it instead of kept. A
 * content whose SHA-256 differs from the manifest's is reported as such, before any problem
 * found in its lines.
 */
async function checkedContent(
  entry: TarEntry,
  file: BundleFile,
  log: ScannedLogBuilder | undefined,
  sink?: ContentSink,
): Promise<Buffer[]> {
  const hash = createHash('sha256');
  const pieces: Buffer[] = [];
  const segment = log?.segment(entry.path.slice(entry.path.indexOf('/') + 1), entry.path);
  let lineProblem: Error | undefined;
  try {
    for await (const piece of entry.chunks()) {
      hash.update(piece);
      if (sink === undefined) pieces.push(piece);
      else await sink.write(piece);
      if (segment === undefined || lineProblem !== undefined) continue;
      try {
        segment.push(piece);
      } catch (error) {
        lineProblem = error instanceof Error ? error : new Error(String(error));
      }
    }
  } catch (error) {
    // A damaged archive: its staged writes settle before the caller cleans up.
    await sink?.abort();
    throw error;
  }
  await sink?.end();
  const digest = hash.digest('hex');
  if (digest !== file.sha256) {
    throw formatError(
      entry.path,
      'its SHA-256 differs from the manifest (the bundle is damaged or was altered)',
    );
  }
  try {
    if (lineProblem !== undefined) throw lineProblem;
    segment?.end(digest);
  } catch (error) {
    if (!CorruptEventLogError.isInstance(error)) throw error;
    throw new BundleFormatError({ entry: entry.path, problem: error.message, cause: error });
  }
  return pieces;
}

export function phaseOf(path: string): BundleProgress['phase'] {
  if (path.startsWith(WORKSPACE_PREFIX)) return 'workspace';
  if (path.startsWith('events/') && segmentNumber(path.slice('events/'.length)) !== undefined) {
    return 'events';
  }
  return 'files';
}

/** `base_state.json` must be a valid state of the manifest's conversation, secrets redacted. */
function checkState(data: Buffer, conversationId: string): void {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new BundleFormatError({
      entry: BASE_STATE_FILE,
      problem: 'it is not valid JSON',
      cause: error,
    });
  }
  const parsed = conversationStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new BundleFormatError({
      entry: BASE_STATE_FILE,
      problem: `it is not a valid conversation state (${parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`)
        .join('; ')})`,
      cause: parsed.error,
    });
  }
  let stateId: string | undefined;
  try {
    stateId = canonicalId(parsed.data.id);
  } catch {
    stateId = undefined;
  }
  if (stateId !== conversationId) {
    throw formatError(
      BASE_STATE_FILE,
      `its id "${parsed.data.id}" is not the manifest's conversation ${conversationId}`,
    );
  }
  // Never write a secret in plaintext, even one a foreign exporter left in.
  const secrets: string[] = [];
  mapStateSecrets(parsed.data, (value, path) => {
    if (value !== REDACTED_SECRET && value !== '') secrets.push(path);
    return value;
  });
  if (secrets.length > 0) {
    throw formatError(
      BASE_STATE_FILE,
      `it carries secret values (${secrets.join(', ')}); a bundle carries secrets redacted as "${REDACTED_SECRET}"`,
    );
  }
}

function formatError(entry: string, problem: string): BundleFormatError {
  return new BundleFormatError({ entry, problem });
}

/** A segment path's number (`events/segment-000002.jsonl`: 2), for sorting segments in log order. */
export function segmentOrder(path: string): number {
  return segmentNumber(path.slice(path.indexOf('/') + 1)) ?? 0;
}

/**
 * The events of the bundle's staged segments (`manifest.files` in the `events` phase), in log
 * order: those `extract` checked and kept (`scanned`) when its segments came in log order, else read again
 * from `conversation`, the staging store's `conversation/`.
 */
export async function stagedEvents(
  conversation: FileStore,
  files: readonly BundleFile[],
  scanned: ScannedLog | undefined,
): Promise<StoredEvent[]> {
  if (scanned?.events !== undefined) return scanned.events;
  const events: StoredEvent[] = [];
  const segments = files
    .filter((file) => phaseOf(file.path) === 'events')
    .sort((left, right) => segmentOrder(left.path) - segmentOrder(right.path));
  for (const file of segments) {
    scanSegment({
      bytes: (await conversation.read(file.path)) ?? new Uint8Array(0),
      file: file.path,
      allowTornLastLine: false,
      events,
      ids: new Map(),
      locate: (index) => `event ${index + 1}`,
    });
  }
  return events;
}

/** The staged `base_state.json` (`extract` has checked it), as a store keeps a state. */
export async function stagedState(conversation: FileStore): Promise<Record<string, unknown>> {
  return JSON.parse((await conversation.readText(BASE_STATE_FILE)) ?? '{}') as Record<
    string,
    unknown
  >;
}
