import type { DurabilityOptions, FileStore, FileStoreStats, RemoveOptions } from './file-store';
import { joinStorePath, normalizeStorePath, parentStorePath } from './store-path';
import { systemError } from './system-error';

/** Options of `new InMemoryFileStore()`. */
export interface InMemoryFileStoreOptions {
  /** Counters to share with other stores; a fresh object when absent. */
  stats?: FileStoreStats;
}

/** A file kept as the chunks appended to it, joined lazily so appends stay O(1). */
interface MemoryFile {
  chunks: Uint8Array[];
  size: number;
}

/** The files and folders of a store and all its scopes, keyed by full normalised path. */
interface MemoryVolume {
  files: Map<string, MemoryFile>;
  /** Every folder, including `''` (the root) and the parents of every file. */
  directories: Set<string>;
}

/**
 * A `FileStore` held in a `Map`, for tests, benchmarks and short-lived conversations. Nothing
 * survives the process. It behaves like the local store (same errors, by `code`) and counts the
 * fsyncs a local store would make, so fsync budgets can be checked without a disk.
 */
export class InMemoryFileStore implements FileStore {
  readonly stats: FileStoreStats;
  private volume: MemoryVolume = { files: new Map(), directories: new Set(['']) };
  private root = '';

  constructor(options: InMemoryFileStoreOptions = {}) {
    this.stats = options.stats ?? { fsyncs: 0, writes: 0 };
  }

  read(path: string): Promise<Uint8Array | undefined> {
    return this.run(() => {
      const file = this.fileAt(this.full(path), 'open');
      return file === undefined ? undefined : new Uint8Array(contentOf(file));
    });
  }

  readRange(path: string, start: number, end: number): Promise<Uint8Array | undefined> {
    return this.run(() => this.readRangeSync(path, start, end));
  }

  readRangeSync(path: string, start: number, end: number): Uint8Array | undefined {
    const file = this.fileAt(this.full(path), 'open');
    return file === undefined ? undefined : new Uint8Array(contentOf(file).subarray(start, end));
  }

  readText(path: string): Promise<string | undefined> {
    return this.run(() => {
      const file = this.fileAt(this.full(path), 'open');
      return file === undefined ? undefined : Buffer.from(contentOf(file)).toString('utf8');
    });
  }

  writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    return this.run(() => {
      const full = this.full(path);
      this.checkWritable(full, 'rename');
      this.stats.fsyncs += this.createParents(full) + 2;
      this.stats.writes += 1;
      const bytes = toBytes(data);
      this.volume.files.set(full, { chunks: [bytes], size: bytes.length });
    });
  }

  append(path: string, data: string | Uint8Array, options: DurabilityOptions = {}): Promise<void> {
    return this.run(() => {
      const fsync = options.fsync ?? true;
      const full = this.full(path);
      const bytes = toBytes(data);
      let file = this.fileAt(full, 'open');
      if (file === undefined) {
        this.checkWritable(full, 'open');
        const createdFolders = this.createParents(full);
        if (fsync) this.stats.fsyncs += createdFolders + 1;
        file = { chunks: [], size: 0 };
        this.volume.files.set(full, file);
      }
      file.chunks.push(bytes);
      file.size += bytes.length;
      this.stats.writes += 1;
      if (fsync) this.stats.fsyncs += 1;
    });
  }

  truncate(path: string, length: number, options: DurabilityOptions = {}): Promise<void> {
    return this.run(() => {
      const full = this.full(path);
      const file = this.fileAt(full, 'open');
      if (file === undefined) throw systemError('ENOENT', 'open', this.describe(path));
      const content = contentOf(file);
      const truncated = new Uint8Array(length);
      truncated.set(content.subarray(0, Math.min(length, content.length)));
      file.chunks = [truncated];
      file.size = length;
      if (options.fsync ?? true) this.stats.fsyncs += 1;
    });
  }

  list(dir: string): Promise<string[]> {
    return this.run(() => {
      const full = this.full(dir);
      if (this.volume.files.has(full)) throw systemError('ENOTDIR', 'scandir', this.describe(dir));
      if (!this.volume.directories.has(full)) return [];
      const prefix = full === '' ? '' : `${full}/`;
      const names = new Set<string>();
      for (const path of [...this.volume.files.keys(), ...this.volume.directories]) {
        if (path === '' || !path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        if (rest !== '' && !rest.includes('/')) names.add(rest);
      }
      return [...names].sort();
    });
  }

  exists(path: string): Promise<boolean> {
    return this.run(() => {
      const full = this.full(path);
      return this.volume.files.has(full) || this.volume.directories.has(full);
    });
  }

  remove(path: string, options: RemoveOptions = {}): Promise<void> {
    return this.run(() => {
      const full = this.full(path);
      if (this.volume.files.delete(full) || !this.volume.directories.has(full)) return;
      const prefix = full === '' ? '' : `${full}/`;
      const inside = (entry: string) => entry !== full && entry.startsWith(prefix);
      const files = [...this.volume.files.keys()].filter(inside);
      const folders = [...this.volume.directories].filter(inside);
      if (!(options.recursive ?? false) && files.length + folders.length > 0) {
        throw systemError('ENOTEMPTY', 'rmdir', this.describe(path));
      }
      for (const file of files) this.volume.files.delete(file);
      for (const folder of folders) this.volume.directories.delete(folder);
      if (full !== '') this.volume.directories.delete(full);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.run(() => {
      const source = this.full(from);
      const target = this.full(to);
      const location = `${this.describe(from)} -> ${this.describe(to)}`;
      if (source === '' || target === '' || isInsideFolder(target, source)) {
        throw systemError('EINVAL', 'rename', location);
      }
      const isFile = this.volume.files.has(source);
      if (!isFile && !this.volume.directories.has(source)) {
        throw systemError('ENOENT', 'rename', location);
      }
      if (this.volume.files.has(target) || this.volume.directories.has(target)) {
        throw systemError('EEXIST', 'rename', location);
      }
      this.checkWritable(target, 'rename');
      // Mirrors the local store: created parents, then the source and target folders.
      const sameParent = parentStorePath(source) === parentStorePath(target);
      this.stats.fsyncs += this.createParents(target) + (sameParent ? 1 : 2);
      const moved = (path: string) => `${target}${path.slice(source.length)}`;
      for (const [path, file] of [...this.volume.files]) {
        if (isInsideFolder(path, source)) {
          this.volume.files.delete(path);
          this.volume.files.set(moved(path), file);
        }
      }
      for (const folder of [...this.volume.directories]) {
        if (isInsideFolder(folder, source)) {
          this.volume.directories.delete(folder);
          this.volume.directories.add(moved(folder));
        }
      }
    });
  }

  mkdir(path: string): Promise<void> {
    return this.run(() => {
      const full = this.full(path);
      if (this.volume.files.has(full)) throw systemError('EEXIST', 'mkdir', this.describe(path));
      this.stats.fsyncs += this.createFolder(full);
    });
  }

  size(path: string): Promise<number | undefined> {
    return this.run(() => {
      const full = this.full(path);
      if (this.volume.directories.has(full)) return 0;
      return this.volume.files.get(full)?.size;
    });
  }

  createExclusive(
    path: string,
    data: string | Uint8Array,
    options: { fsync?: boolean } = {},
  ): Promise<boolean> {
    const fsync = options.fsync ?? true;
    return this.run(() => {
      const full = this.full(path);
      this.checkWritable(full, 'link');
      // Mirrors the local store: parents, the fsynced temp file, then the folder on success.
      this.stats.fsyncs += this.createParents(full) + (fsync ? 1 : 0);
      if (this.volume.files.has(full)) return false;
      const bytes = toBytes(data);
      this.volume.files.set(full, { chunks: [bytes], size: bytes.length });
      this.stats.writes += 1;
      if (fsync) this.stats.fsyncs += 1;
      return true;
    });
  }

  scope(subdir: string): InMemoryFileStore {
    const scoped = new InMemoryFileStore({ stats: this.stats });
    scoped.volume = this.volume;
    scoped.root = this.full(subdir);
    return scoped;
  }

  describe(path: string): string {
    return `memory:/${this.full(path)}`;
  }

  /** Runs a synchronous operation as a promise, so invalid paths reject like real I/O errors. */
  private run<T>(operation: () => T): Promise<T> {
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private full(path: string): string {
    return joinStorePath(this.root, normalizeStorePath(path));
  }

  private fileAt(full: string, operation: string): MemoryFile | undefined {
    if (full === '' || this.volume.directories.has(full)) {
      throw systemError('EISDIR', operation, `memory:/${full}`);
    }
    return this.volume.files.get(full);
  }

  /** Throws like the file system would if a file cannot be written at `full`. */
  private checkWritable(full: string, operation: string): void {
    if (full === '' || this.volume.directories.has(full)) {
      throw systemError('EISDIR', operation, `memory:/${full}`);
    }
    for (let folder = parentStorePath(full); folder !== ''; folder = parentStorePath(folder)) {
      if (this.volume.files.has(folder)) {
        throw systemError('ENOTDIR', operation, `memory:/${full}`);
      }
    }
  }

  /** Creates the parent folders of a file path; returns how many were new. */
  private createParents(full: string): number {
    return this.createFolder(parentStorePath(full));
  }

  /** Creates a folder and its missing parents; returns how many were new. */
  private createFolder(full: string): number {
    const missing: string[] = [];
    for (
      let folder = full;
      !this.volume.directories.has(folder);
      folder = parentStorePath(folder)
    ) {
      if (this.volume.files.has(folder)) throw systemError('ENOTDIR', 'mkdir', `memory:/${full}`);
      missing.push(folder);
    }
    for (const folder of missing) this.volume.directories.add(folder);
    return missing.length;
  }
}

/** Whether the normalised `path` is `folder` itself or inside it. */
function isInsideFolder(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}/`);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  // Copies, so later changes to the caller's array do not reach the store.
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : new Uint8Array(data);
}

function contentOf(file: MemoryFile): Uint8Array {
  if (file.chunks.length !== 1) file.chunks = [Buffer.concat(file.chunks, file.size)];
  return file.chunks[0] ?? new Uint8Array(0);
}
