import { createReadStream } from 'node:fs';
import { FerryError } from '../errors/ferry-error';
import type { FileStore } from '../persistence/file-store';
import { formatJson } from '../persistence/json-file';
import {
  MANIFEST_FILE,
  WORKSPACE_PREFIX,
  type BundleManifest,
  type BundleProgress,
} from './bundle-manifest';
import type { SourceFile } from './delta-plan';
import { segmentContent, verifiedPieces, type StreamedSegment } from './streamed-segments';
import { joinPieces } from './tar-reader';
import { TAR_END, tarFileHeader, tarPadding } from './tar-writer';
import type { WorkspaceFile } from './workspace-files';

/** A file whose bytes are in memory, with its SHA-256. */
export interface Outgoing {
  kind: 'data';
  file: SourceFile;
  sha256: string;
}

/** A segment read from its file as the bundle streams. */
export interface StreamedEntry {
  kind: 'streamed';
  segment: StreamedSegment;
}

export interface TarSource {
  manifest: BundleManifest;
  /** The conversation's files in bundle order. */
  entries: (Outgoing | StreamedEntry)[];
  /** Where streamed segments are read from. */
  folder: FileStore | undefined;
  workspaceFiles: WorkspaceFile[];
  onProgress: ((progress: BundleProgress) => void) | undefined;
}

export async function* tarChunks(source: TarSource): AsyncGenerator<Buffer> {
  const { manifest, onProgress } = source;
  const mtime = new Date(manifest.created_at);
  const totalBytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
  let bytes = 0;
  let events = 0;
  const report = (phase: BundleProgress['phase']) =>
    onProgress?.({ phase, bytes, totalBytes, events });

  const manifestBytes = Buffer.from(formatJson(manifest));
  yield* fileEntry({ path: MANIFEST_FILE, size: manifestBytes.length, mtime }, manifestBytes);
  for (const entry of source.entries) {
    if (entry.kind === 'streamed' && source.folder !== undefined) {
      const { segment } = entry;
      yield tarFileHeader({ path: segment.path, size: segment.size, mtime });
      for await (const chunk of segmentContent(source.folder, segment)) {
        yield chunk;
        bytes += chunk.length;
      }
      yield tarPadding(segment.size);
      events += segment.events;
      report('events');
      continue;
    }
    if (entry.kind === 'streamed') throw new Error('A streamed segment needs its folder.');
    const { file } = entry;
    // A view of the bytes, not a copy (Buffer.from of an array would copy the whole log).
    const data = Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength);
    yield* fileEntry({ path: file.path, size: data.length, mtime }, data);
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

/** Pieces at least this large pass through {@link coalesced} as they are. */
const PASS_THROUGH_BYTES = 64 * 1024;
/** Small pieces are joined until they hold this many bytes. */
const JOINED_BYTES = 256 * 1024;

/**
 * The same bytes in fewer pieces: small ones (tar headers and padding, state and side files)
 * are joined, large ones pass through. Each piece written to a gzip stream is a trip to the
 * thread pool and back, which for a small delta bundle cost more than compressing it.
 */
export async function* coalesced(pieces: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let bytes = 0;
  const joined = () => {
    const piece = joinPieces(held, bytes);
    held = [];
    bytes = 0;
    return piece;
  };
  for await (const piece of pieces) {
    if (piece.length >= PASS_THROUGH_BYTES) {
      if (bytes > 0) yield joined();
      yield piece;
      continue;
    }
    held.push(piece);
    bytes += piece.length;
    if (bytes >= JOINED_BYTES) yield joined();
  }
  if (bytes > 0) yield joined();
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
function verifiedContent(file: WorkspaceFile): AsyncGenerator<Buffer> {
  return verifiedPieces(
    createReadStream(file.absolute) as AsyncIterable<Buffer>,
    file,
    () =>
      new FerryError(
        'BUNDLE_SOURCE_CHANGED',
        `The workspace file ${file.absolute} changed while it was being exported; export again once it is stable.`,
      ),
  );
}
