import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import type { AgentInput } from '../agent/agent-schema';
import { LocalConversation } from '../conversation/local-conversation';
import type { FileStore } from '../persistence/file-store';
import { formatJson } from '../persistence/json-file';
import { exportConversationBundle } from './export-bundle';
import { readEntryData, readTarEntries } from './tar-reader';
import { TAR_END, tarFileHeader, tarPadding } from './tar-writer';

// Helpers for the bundle tests; not part of the package's API.

export const SECRET = 'sk-secret-xyz';

export const agent: AgentInput = { llm: { model: 'gpt-4.1', api_key: SECRET } };

export function workspaceOf(dir: string) {
  return { kind: 'LocalWorkspace', workingDir: dir };
}

/** A closed conversation with a few events and tool side files, in `root`. */
export async function createConversation(options: {
  persistenceDir?: string;
  store?: FileStore;
  workingDir: string;
}): Promise<string> {
  const conversation = await LocalConversation.open({
    agent,
    workspace: workspaceOf(options.workingDir),
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.persistenceDir === undefined ? {} : { persistenceDir: options.persistenceDir }),
    onWarning: () => undefined,
  });
  await conversation.sendMessage('Please write the report.');
  await conversation.updateMetadata({ title: 'Report', tags: { team: 'docs' } });
  await conversation.sendMessage('And mention the numbers.');
  await conversation.close();
  return conversation.id;
}

/** Every file under `dir` (relative path -> content as text, or `link -> target`), sorted. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  async function walk(folder: string, prefix: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) {
        files[`${name}/`] = '';
        await walk(path, `${name}/`);
      } else if (entry.isSymbolicLink()) {
        files[name] = `link -> ${await readlink(path)}`;
      } else {
        files[name] = `${(await lstat(path)).mode.toString(8)} ${await readFile(path, 'utf8')}`;
      }
    }
  }
  await walk(dir, '');
  return files;
}

/** Reads a whole stream into one buffer. */
export async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A conversation's bundle, in memory. */
export async function exportToBytes(options: {
  store: FileStore;
  workspaceDir?: string;
}): Promise<Buffer> {
  const { stream } = await exportConversationBundle(options);
  return collect(stream);
}

/** An archive entry to build by hand. */
export interface RawEntry {
  path: string;
  data?: Buffer | string;
  type?:
    | 'File'
    | 'Directory'
    | 'SymbolicLink'
    | 'Link'
    | 'CharacterDevice'
    | 'FIFO'
    | 'NextFileHasLongPath'
    | 'GlobalExtendedHeader';
  linkpath?: string;
  /** The size to write in the header, when it should lie. */
  headerSize?: number;
}

/** The files of a bundle, in archive order. */
export async function entriesOf(bundle: Buffer): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  for await (const entry of readTarEntries(Readable.from([bundle]), {
    maxBytes: 1 << 30,
    maxEntries: 100_000,
  })) {
    entries.push({ path: entry.path, data: await readEntryData(entry), type: entry.type });
  }
  return entries;
}

/** Builds a gzip tar from raw entries, any type, any path: hostile archives for tests. */
export function pack(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const mtime = new Date('2025-01-01T00:00:00Z');
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const type = entry.type ?? 'File';
    if (type === 'File' && entry.headerSize === undefined) {
      blocks.push(tarFileHeader({ path: entry.path, size: data.length, mtime }));
    } else {
      const block = Buffer.alloc(512);
      new Header({
        path: entry.path,
        type,
        size: entry.headerSize ?? data.length,
        mode: 0o644,
        mtime,
        ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
      }).encode(block, 0);
      blocks.push(block);
    }
    blocks.push(data, tarPadding(data.length));
  }
  blocks.push(TAR_END);
  return gzipSync(Buffer.concat(blocks));
}

/** Replaces the manifest of raw entries with one listing their files (sizes and checksums). */
export function withManifest(
  entries: RawEntry[],
  change: (manifest: Record<string, unknown>) => void = () => undefined,
): RawEntry[] {
  const manifestEntry = entries.find((entry) => entry.path === 'manifest.json');
  const manifest = JSON.parse(String(manifestEntry?.data ?? '{}')) as Record<string, unknown>;
  manifest.files = entries
    .filter((entry) => entry.path !== 'manifest.json' && (entry.type ?? 'File') === 'File')
    .map((entry) => {
      const data = Buffer.from(entry.data ?? '');
      return {
        path: entry.path,
        size: data.length,
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    });
  change(manifest);
  return [
    { path: 'manifest.json', data: formatJson(manifest) },
    ...entries.filter((entry) => entry.path !== 'manifest.json'),
  ];
}

/** Whether the uncompressed archive contains `text` anywhere. */
export function bundleContains(bundle: Buffer, text: string): boolean {
  return gunzipSync(bundle).includes(Buffer.from(text));
}
