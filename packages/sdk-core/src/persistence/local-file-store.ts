import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  constants,
  link,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { PrefixHasher, digestMemory, type FileDigest } from './file-digests';
import type {
  DigestOptions,
  DurabilityOptions,
  FileStore,
  FileStoreEntry,
  FileStoreStats,
  RemoveOptions,
} from './file-store';
import { storePathSegments } from './store-path';
import { hasErrorCode, systemError } from './system-error';

/** Options of `new LocalFileStore()`. */
export interface LocalFileStoreOptions {
  /** The folder the store's paths are relative to; resolved against the working directory. */
  root: string;
  /** Counters to share with other stores; a fresh object when absent. */
  stats?: FileStoreStats;
}

/** Bytes read at a time when a file is hashed. */
const HASH_PIECE_BYTES = 1024 * 1024;

/** Opens an existing file for appending without creating it, so a missing file is detectable. */
const APPEND_TO_EXISTING = constants.O_WRONLY | constants.O_APPEND;

/**
 * A `FileStore` on a local folder (node:fs/promises), with the durability a crash-safe
 * conversation needs: atomic replacement, fsynced appends and fsynced folder entries.
 */
export class LocalFileStore implements FileStore {
  /** The absolute folder this store is rooted at. */
  readonly root: string;
  readonly stats: FileStoreStats;

  constructor(options: LocalFileStoreOptions) {
    this.root = resolve(options.root);
    this.stats = options.stats ?? { fsyncs: 0, writes: 0 };
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.absolute(path));
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  readRange(path: string, start: number, end: number): Promise<Uint8Array | undefined> {
    return this.withFile(path, async (handle) => {
      // One read: a regular file returns all it has of the range.
      const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    });
  }

  /** `work` on the file opened for reading, closed after; `undefined` when it does not exist. */
  private async withFile<T>(
    path: string,
    work: (handle: FileHandle) => Promise<T>,
  ): Promise<T | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.absolute(path), 'r');
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    try {
      return await work(handle);
    } finally {
      await handle.close();
    }
  }

  readRangeSync(path: string, start: number, end: number): Uint8Array | undefined {
    let descriptor: number;
    try {
      descriptor = openSync(this.absolute(path), 'r');
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    try {
      const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
      return buffer.subarray(0, readSync(descriptor, buffer, 0, buffer.length, start));
    } finally {
      closeSync(descriptor);
    }
  }

  async readText(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.absolute(path), 'utf8');
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    const file = this.absolute(path);
    digestMemory.forget(file);
    const dir = dirname(file);
    await this.makeDirectory(dir);
    this.stats.writes += 1;
    const temporary = temporaryPathFor(file);
    try {
      await this.writeNewFile(temporary, data, true);
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    await this.syncDirectory(dir);
  }

  appendSync(path: string, data: Uint8Array): void {
    const file = this.absolute(path);
    // Not followed like an async append: a remembered digest of it no longer holds.
    digestMemory.forget(file);
    this.stats.writes += 1;
    const descriptor = openSync(file, APPEND_TO_EXISTING);
    try {
      for (let at = 0; at < data.length;) {
        at += writeSync(descriptor, data, at, data.length - at);
      }
    } finally {
      closeSync(descriptor);
    }
  }

  async append(
    path: string,
    data: string | Uint8Array,
    options: DurabilityOptions = {},
  ): Promise<void> {
    const fsync = options.fsync ?? true;
    const file = this.absolute(path);
    this.stats.writes += 1;
    let handle: FileHandle;
    let created = false;
    try {
      handle = await open(file, APPEND_TO_EXISTING);
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      await this.makeDirectory(dirname(file), fsync);
      handle = await open(file, 'a');
      created = true;
    }
    try {
      // A file whose digest is remembered: note the versions either side of the write, so the
      // digest follows the append (see `digest`).
      const before =
        !created && digestMemory.has(file) ? versionOf(await handle.stat({ bigint: true })) : '';
      await handle.writeFile(data);
      if (fsync) await this.syncFile(handle);
      if (before !== '') {
        const after = versionOf(await handle.stat({ bigint: true }));
        digestMemory.appended(file, before, after, bytesOf(data));
      }
    } finally {
      await handle.close();
    }
    // A new file is only durable once its folder entry is.
    if (created && fsync) await this.syncDirectory(dirname(file));
  }

  async truncate(path: string, length: number, options: DurabilityOptions = {}): Promise<void> {
    digestMemory.forget(this.absolute(path));
    const handle = await open(this.absolute(path), 'r+');
    try {
      await handle.truncate(length);
      if (options.fsync ?? true) await this.syncFile(handle);
    } finally {
      await handle.close();
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(this.absolute(dir))).sort();
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return [];
      throw error;
    }
  }

  async listEntries(dir: string): Promise<FileStoreEntry[]> {
    const folder = this.absolute(dir);
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return [];
      throw error;
    }
    const listed = await Promise.all(
      entries.map(async (entry) => ({
        name: entry.name,
        // A link, or a file system that does not tell the type: asked, following the link.
        directory:
          entry.isDirectory() ||
          (!entry.isFile() &&
            (await stat(join(folder, entry.name)).then(
              (stats) => stats.isDirectory(),
              () => false,
            ))),
      })),
    );
    return listed.sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(this.absolute(path));
      return true;
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  async remove(path: string, options: RemoveOptions = {}): Promise<void> {
    const target = this.absolute(path);
    if (options.recursive ?? false) {
      await rm(target, { recursive: true, force: true });
      return;
    }
    try {
      await unlink(target);
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return;
      // unlink refuses folders (EISDIR on Linux, EPERM on macOS); rmdir takes empty ones.
      if (!hasErrorCode(error, 'EISDIR', 'EPERM')) throw error;
      await rmdir(target);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.absolute(from);
    const target = this.absolute(to);
    if (source === this.root || target === this.root || isInside(target, source)) {
      throw systemError('EINVAL', 'rename', `${source} -> ${target}`);
    }
    await lstat(source);
    // rename(2) would silently replace a file or an empty folder; the contract refuses both.
    if (await pathExists(target)) throw systemError('EEXIST', 'rename', target);
    await this.makeDirectory(dirname(target));
    await rename(source, target);
    await this.syncDirectory(dirname(source));
    if (dirname(target) !== dirname(source)) await this.syncDirectory(dirname(target));
  }

  async mkdir(path: string): Promise<void> {
    await this.makeDirectory(this.absolute(path));
  }

  async size(path: string): Promise<number | undefined> {
    try {
      return (await stat(this.absolute(path))).size;
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  /**
   * A token that changes whenever the file may have changed: its device, inode, size, and
   * modification and change times in nanoseconds (the change time moves on every write, rename
   * or metadata change, and user code cannot set it). `undefined` when the file does not exist.
   */
  async version(path: string): Promise<string | undefined> {
    const info = await this.statOf(path);
    return info === undefined ? undefined : versionOf(info);
  }

  /**
   * The file's digest (see `FileStore.digest`). Remembered for this process while the file's
   * `version` holds, and carried through this store's appends to it; anything else that
   * changes the file changes its version, and it is read and hashed again.
   */
  async digest(path: string, options: DigestOptions = {}): Promise<FileDigest | undefined> {
    const file = this.absolute(path);
    const info = await this.statOf(path);
    if (info === undefined) return undefined;
    const version = versionOf(info);
    const size = Number(info.size);
    const length = Math.min(options.length ?? size, size);
    const known = digestMemory.lookup(file, version, length);
    if (known !== undefined) return known;
    const hasher = new PrefixHasher([length, size]);
    if (options.data?.length === size) {
      hasher.update(options.data);
    } else {
      if (!(await this.hashInPieces(path, hasher))) return undefined;
      // Changed while it was read: answer for the bytes read, remember nothing.
      if ((await this.version(path)) !== version) {
        const { size: read, lines } = hasher;
        return (
          hasher.prefixes.get(length) ?? { size: read, sha256: hasher.hash.digest('hex'), lines }
        );
      }
    }
    digestMemory.remember(file, version, hasher);
    return hasher.prefixes.get(length);
  }

  /**
   * Feeds the file to `hasher` a megabyte at a time through one reused buffer: a log of many
   * megabytes is never held whole (a large fresh allocation costs more than the read).
   * `false` when the file does not exist.
   */
  private async hashInPieces(path: string, hasher: PrefixHasher): Promise<boolean> {
    const found = await this.withFile(path, async (handle) => {
      const buffer = Buffer.allocUnsafe(HASH_PIECE_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) return true;
        hasher.update(buffer.subarray(0, bytesRead));
      }
    });
    return found === true;
  }

  /**
   * Notes that the file, as it is now, is exactly `digest` (bytes this process wrote and
   * hashed, such as an import's segments), so a later `digest` need not read it. Ignored when
   * its size is not `digest.size`.
   */
  async noteDigest(path: string, digest: FileDigest): Promise<void> {
    const info = await this.statOf(path);
    if (info === undefined || Number(info.size) !== digest.size) return;
    digestMemory.note(this.absolute(path), versionOf(info), digest);
  }

  private async statOf(path: string): Promise<BigIntStats | undefined> {
    try {
      return await stat(this.absolute(path), { bigint: true });
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async createExclusive(
    path: string,
    data: string | Uint8Array,
    options: { fsync?: boolean } = {},
  ): Promise<boolean> {
    const fsync = options.fsync ?? true;
    const file = this.absolute(path);
    const dir = dirname(file);
    await this.makeDirectory(dir);
    // Write a complete temp file, then hard-link it into place: link fails if the target
    // exists, and a reader never sees the file half written.
    const temporary = temporaryPathFor(file);
    try {
      await this.writeNewFile(temporary, data, fsync);
      try {
        await link(temporary, file);
      } catch (error) {
        if (hasErrorCode(error, 'EEXIST')) return false;
        // Some file systems (FAT, some network shares) have no hard links.
        if (!hasErrorCode(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP')) throw error;
        return await this.createExclusiveWithoutLink(file, data, fsync);
      }
    } finally {
      await rm(temporary, { force: true }).catch(() => undefined);
    }
    this.stats.writes += 1;
    if (fsync) await this.syncDirectory(dir);
    return true;
  }

  scope(subdir: string): LocalFileStore {
    return new LocalFileStore({ root: this.absolute(subdir), stats: this.stats });
  }

  describe(path: string): string {
    return this.absolute(path);
  }

  private absolute(path: string): string {
    return join(this.root, ...storePathSegments(path));
  }

  private async createExclusiveWithoutLink(
    file: string,
    data: string | Uint8Array,
    fsync: boolean,
  ): Promise<boolean> {
    try {
      await this.writeNewFile(file, data, fsync);
    } catch (error) {
      if (hasErrorCode(error, 'EEXIST')) return false;
      throw error;
    }
    this.stats.writes += 1;
    if (fsync) await this.syncDirectory(dirname(file));
    return true;
  }

  /** Creates `file` (failing if it exists), writes `data` and, with `fsync`, syncs it. */
  private async writeNewFile(
    file: string,
    data: string | Uint8Array,
    fsync: boolean,
  ): Promise<void> {
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(data);
      if (fsync) await this.syncFile(handle);
    } finally {
      await handle.close();
    }
  }

  /**
   * Creates a folder and its missing parents; when `durable`, fsyncs the parent of each folder
   * it created so the new entries survive a crash.
   */
  private async makeDirectory(dir: string, durable = true): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined || !durable) return;
    let created = dir;
    for (;;) {
      const parent = dirname(created);
      await this.syncDirectory(parent);
      if (created === first || parent === created) return;
      created = parent;
    }
  }

  private async syncFile(handle: FileHandle): Promise<void> {
    await handle.datasync();
    this.stats.fsyncs += 1;
  }

  private async syncDirectory(dir: string): Promise<void> {
    // Windows cannot open a folder to fsync it; its file systems journal renames anyway.
    if (process.platform === 'win32') return;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
      this.stats.fsyncs += 1;
    } catch (error) {
      // Some file systems do not support fsync on folders; nothing more can be done there.
      if (!hasErrorCode(error, 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP')) throw error;
    } finally {
      await handle.close();
    }
  }
}

function temporaryPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
}

/** Whether `path` is `folder` itself or inside it. */
function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}${sep}`);
}

/** Whether anything (even a dangling link) is at `path`. */
async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return false;
    throw error;
  }
}

/**
 * A token that changes whenever the file may have changed (see `LocalFileStore.version`).
 */
function versionOf(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}
