import { BASE_STATE_FILE } from '../store/file-layout';
import type { BundleBase } from './bundle-base';
import { WORKSPACE_PREFIX, type BundleBaseRef, type BundleFile } from './bundle-manifest';
import { digestOfBytes, type FileDigest } from '../persistence/file-digests';
import { isSegment, sha256 } from './conversation-files';
import { STORE_LOG_SEGMENT } from './store-log';
import type { WorkspaceFile } from './workspace-files';

/** A conversation file as the export holds it: its path, its bytes, and the events in them. */
export interface SourceFile {
  path: string;
  data: Uint8Array;
  phase: 'events' | 'files';
  /** Events in this file (segments only; counted once the bytes are checked). */
  events: number;
  /**
   * `data` holds the file from this byte on (default 0): the bytes before it were not read, a
   * digest in `planDelta`'s `proofs` proves them instead. Always before the end of that proof,
   * so the byte that must end it on a whole event is in `data`.
   */
  start?: number;
}

/** What a delta bundle carries, or why the whole conversation must travel instead. */
export type DeltaPlan =
  | {
      kind: 'delta';
      base: BundleBaseRef;
      /** Files to send: the state, tails of grown segments, new segments, changed side files. */
      storeFiles: SourceFile[];
      /** Workspace files whose content the destination lacks. */
      workspaceFiles: WorkspaceFile[];
      /** Per segment path: the bytes the destination already holds (a sent tail starts there). */
      offsets: Map<string, number>;
    }
  | { kind: 'full'; reason: string };

/**
 * Compares what the destination holds (`base`) with this side's files. The destination's event
 * segments must be a byte-for-byte prefix of this side's log (every segment but the last equal,
 * the last one a prefix ending on a line break), proved by SHA-256 of the same bytes on both
 * sides; anything else (an edited, truncated or longer log, another fork) means the whole
 * conversation travels. Side files and workspace files travel when their content differs.
 */
export function planDelta(input: {
  conversationId: string;
  base: BundleBase;
  /** `base_state.json`, then the segments in log order (bytes, unchecked), then the side files. */
  storeFiles: SourceFile[];
  workspaceFiles: WorkspaceFile[] | undefined;
  /**
   * Digests of this side's segments cut at the destination's sizes, by path, where already
   * known (see `FileStore.digest`); the others are hashed here.
   */
  proofs?: ReadonlyMap<string, FileDigest>;
}): DeltaPlan {
  const { base } = input;
  if (base.conversation_id !== input.conversationId) {
    return {
      kind: 'full',
      reason: `the destination describes conversation ${base.conversation_id}`,
    };
  }
  const held = new Map(base.files.map((file) => [file.path, file]));
  const heldSegments = base.files.filter((file) => isSegment(file.path));
  const sourceFiles =
    base.single_segment === true ? joinSegments(input.storeFiles) : input.storeFiles;
  const segments = sourceFiles.filter((file) => file.phase === 'events');
  if (heldSegments.length > segments.length) {
    return {
      kind: 'full',
      reason: `the destination holds ${heldSegments.length} event segments, this side ${segments.length}`,
    };
  }
  const kept: BundleFile[] = [];
  const offsets = new Map<string, number>();
  let baseEvents = 0;
  for (const [index, held] of heldSegments.entries()) {
    const here = segments[index] as SourceFile;
    const known = input.proofs?.get(held.path);
    const proof =
      known?.size === held.size || lengthOf(here) < held.size || (here.start ?? 0) > 0
        ? known
        : digestOfBytes(here.data.subarray(0, held.size));
    const problem = segmentProblem(held, here, proof, index === heldSegments.length - 1);
    if (problem !== undefined) return { kind: 'full', reason: problem };
    kept.push({ path: held.path, size: held.size, sha256: held.sha256 });
    offsets.set(held.path, held.size);
    baseEvents += (proof as FileDigest).lines;
  }

  const storeFiles: SourceFile[] = [];
  for (const file of sourceFiles) {
    if (file.phase === 'events') {
      const offset = offsets.get(file.path) ?? 0;
      if (offset < lengthOf(file) || !offsets.has(file.path)) {
        const { start, ...whole } = file;
        storeFiles.push({ ...whole, data: file.data.subarray(offset - (start ?? 0)) });
      }
      continue;
    }
    const other = held.get(file.path);
    if (
      other !== undefined &&
      other.size === file.data.length &&
      other.sha256 === sha256(file.data)
    ) {
      kept.push({ path: other.path, size: other.size, sha256: other.sha256 });
    } else {
      storeFiles.push(file);
    }
  }

  const workspaceFiles: WorkspaceFile[] = [];
  for (const file of input.workspaceFiles ?? []) {
    const other = base.includes_workspace ? held.get(`${WORKSPACE_PREFIX}${file.path}`) : undefined;
    if (
      other !== undefined &&
      other.sha256 === file.sha256 &&
      (other.executable ?? false) === file.executable
    ) {
      kept.push({
        path: other.path,
        size: other.size,
        sha256: other.sha256,
        ...(file.executable ? { executable: true } : {}),
      });
    } else {
      workspaceFiles.push(file);
    }
  }
  return {
    kind: 'delta',
    base: { event_count: baseEvents, files: kept },
    storeFiles,
    workspaceFiles,
    offsets,
  };
}

/** Why the destination's segment is not a prefix of this side's, if it is not. */
function segmentProblem(
  held: BundleFile,
  here: SourceFile,
  /** The digest of `here`'s first `held.size` bytes (absent when it is shorter). */
  proof: FileDigest | undefined,
  last: boolean,
): string | undefined {
  if (held.path !== here.path) {
    return `the destination's ${held.path} stands where this side has ${here.path}`;
  }
  const length = lengthOf(here);
  if (length < held.size) {
    return `the destination's ${held.path} holds ${held.size} bytes, more than this side's ${length} (a longer log or another fork)`;
  }
  if (!last && length !== held.size) {
    return `the destination's ${held.path} is shorter than this side's, but is not its last segment`;
  }
  if (proof?.sha256 !== held.sha256) {
    return `the destination's ${held.path} differs from this side's first ${held.size} bytes (edited, or another fork)`;
  }
  if (held.size > 0 && here.data[held.size - 1 - (here.start ?? 0)] !== 0x0a) {
    return `the destination's ${held.path} does not end on a whole event`;
  }
  return undefined;
}

/** The file's size: the bytes before `start` and those read. */
function lengthOf(file: SourceFile): number {
  return (file.start ?? 0) + file.data.length;
}

/**
 * This side's segments as the one segment a store without segment files holds
 * (`STORE_LOG_SEGMENT`): the same lines, so the destination's log is compared with this one's
 * whatever the segment sizes, and what it lacks travels as the tail of that one segment.
 */
function joinSegments(files: SourceFile[]): SourceFile[] {
  const segments = files.filter((file) => file.phase === 'events');
  if (segments.length < 2 && segments.every((file) => file.path === STORE_LOG_SEGMENT)) {
    return files;
  }
  const joined: SourceFile = {
    path: STORE_LOG_SEGMENT,
    data: Buffer.concat(segments.map((file) => file.data)),
    phase: 'events',
    events: 0,
  };
  const others = files.filter((file) => file.phase !== 'events');
  return [
    ...others.filter((file) => file.path === BASE_STATE_FILE),
    joined,
    ...others.filter((file) => file.path !== BASE_STATE_FILE),
  ];
}
