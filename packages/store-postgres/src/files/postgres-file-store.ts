import type pg from 'pg';
import { joinStorePath, normalizeStorePath, parentStorePath, systemError } from '@ferry/sdk-core';
import type { DurabilityOptions, FileStore, FileStoreStats, RemoveOptions } from '@ferry/sdk-core';
import type { Database } from '../database';
import { SQL } from '../sql';
import { ancestorsOf } from './store-path';

interface Entry {
  path: string;
  is_directory: boolean;
}

/**
 * A conversation's side files (`TASKS.json`, `observations/`, ...) as rows of `ferry_files`:
 * one row per file or folder, keyed by (conversation, path). It behaves like the local and
 * in-memory stores, down to the error codes (`ENOENT`, `EISDIR`, `ENOTEMPTY`, ...). Each write is
 * one committed statement or transaction, so readers see a file's old content or its new one.
 */
export class PostgresFileStore implements FileStore {
  constructor(
    private readonly database: Database,
    private readonly conversationId: string,
    private readonly root: string,
    readonly stats: FileStoreStats,
  ) {}

  async read(path: string): Promise<Uint8Array | undefined> {
    const full = this.full(path);
    if (full === '') throw systemError('EISDIR', 'read', this.describe(path));
    const { rows } = await this.database.query<{ is_directory: boolean; content: Buffer | null }>(
      'reading a side file',
      SQL.fileRead,
      [this.conversationId, full],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.is_directory) throw systemError('EISDIR', 'read', this.describe(path));
    return new Uint8Array(row.content ?? Buffer.alloc(0));
  }

  async readText(path: string): Promise<string | undefined> {
    const bytes = await this.read(path);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  async writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    await this.writeFile('writeAtomic', path, data, SQL.fileWrite);
  }

  async append(
    path: string,
    data: string | Uint8Array,
    options?: DurabilityOptions,
  ): Promise<void> {
    void options; // every statement is committed durably
    await this.writeFile('open', path, data, SQL.fileAppend);
  }

  async truncate(path: string, length: number): Promise<void> {
    const content = await this.read(path);
    if (content === undefined) throw systemError('ENOENT', 'open', this.describe(path));
    const truncated = new Uint8Array(length);
    truncated.set(content.subarray(0, Math.min(length, content.length)));
    await this.writeFile('open', path, truncated, SQL.fileWrite);
  }

  async list(dir: string): Promise<string[]> {
    const full = this.full(dir);
    const entry = await this.entry(full);
    if (entry?.is_directory === false) throw systemError('ENOTDIR', 'scandir', this.describe(dir));
    const { rows } = await this.database.query<{ path: string }>(
      'listing side files',
      SQL.fileList,
      [this.conversationId, full],
    );
    return rows.map((row) => row.path.slice(full === '' ? 0 : full.length + 1)).sort();
  }

  async exists(path: string): Promise<boolean> {
    const full = this.full(path);
    return full === '' || (await this.entry(full)) !== undefined;
  }

  async remove(path: string, options: RemoveOptions = {}): Promise<void> {
    const full = this.full(path);
    const entry = full === '' ? { path: '', is_directory: true } : await this.entry(full);
    if (entry === undefined) return;
    if (entry.is_directory && !(options.recursive ?? false)) {
      const { rows } = await this.database.query<{ found: boolean }>(
        'removing a side file',
        SQL.fileHasChildren,
        [this.conversationId, full],
      );
      if (rows[0]?.found === true) throw systemError('ENOTEMPTY', 'rmdir', this.describe(path));
    }
    if (full === '') {
      await this.database.query('removing side files', SQL.fileRemoveTree, [
        this.conversationId,
        this.root,
      ]);
      return;
    }
    await this.database.query('removing a side file', SQL.fileRemoveTree, [
      this.conversationId,
      full,
    ]);
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.full(from);
    const target = this.full(to);
    const location = `${this.describe(from)} -> ${this.describe(to)}`;
    if (source === '' || target === '' || target === source || target.startsWith(`${source}/`)) {
      throw systemError('EINVAL', 'rename', location);
    }
    await this.database.transaction('moving a side file', async (client) => {
      const { rows } = await client.query<Entry>(SQL.fileEntries, [
        this.conversationId,
        [source, target, ...ancestorsOf(target)],
      ]);
      const byPath = new Map(rows.map((row) => [row.path, row]));
      if (!byPath.has(source)) throw systemError('ENOENT', 'rename', location);
      if (byPath.has(target)) throw systemError('EEXIST', 'rename', location);
      if (ancestorsOf(target).some((folder) => byPath.get(folder)?.is_directory === false)) {
        throw systemError('ENOTDIR', 'rename', location);
      }
      await client.query(SQL.fileMakeFolders, this.folderRows(ancestorsOf(target)));
      await client.query(SQL.fileRenameTree, [
        this.conversationId,
        source,
        target,
        parentStorePath(target),
      ]);
    });
    this.stats.writes += 1;
  }

  async mkdir(path: string): Promise<void> {
    const full = this.full(path);
    if (full === '') return;
    await this.database.transaction('creating a side folder', async (client) => {
      await this.checkFolders(client, full, [full, ...ancestorsOf(full)], 'mkdir');
      await client.query(SQL.fileMakeFolders, this.folderRows([full, ...ancestorsOf(full)]));
    });
  }

  async size(path: string): Promise<number | undefined> {
    const full = this.full(path);
    if (full === '') return 0;
    const { rows } = await this.database.query<{ is_directory: boolean; size: number | null }>(
      'reading a side file size',
      SQL.fileSize,
      [this.conversationId, full],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return row.is_directory ? 0 : Number(row.size ?? 0);
  }

  /** Always durable: the row is committed (a `fsync: false` asks for less, and gets this). */
  async createExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
    const created = await this.writeFile('link', path, data, SQL.fileCreateExclusive);
    return created;
  }

  scope(subdir: string): PostgresFileStore {
    return new PostgresFileStore(this.database, this.conversationId, this.full(subdir), this.stats);
  }

  describe(path: string): string {
    return this.describeFull(this.full(path));
  }

  private describeFull(full: string): string {
    return `${this.database.location} conversation ${this.conversationId} file /${full}`;
  }

  private full(path: string): string {
    return joinStorePath(this.root, normalizeStorePath(path));
  }

  private async entry(full: string): Promise<Entry | undefined> {
    const { rows } = await this.database.query<Entry>('reading a side file', SQL.fileEntries, [
      this.conversationId,
      [full],
    ]);
    return rows[0];
  }

  /** Writes a file with `statement` after creating its folders; whether a row was written. */
  private async writeFile(
    operation: string,
    path: string,
    data: string | Uint8Array,
    statement: string,
  ): Promise<boolean> {
    const full = this.full(path);
    if (full === '') throw systemError('EISDIR', operation, this.describe(path));
    const folders = ancestorsOf(full);
    const written = await this.database.transaction('writing a side file', async (client) => {
      await this.checkFolders(client, full, folders, operation);
      const { rows } = await client.query<Entry>(SQL.fileEntries, [this.conversationId, [full]]);
      if (rows[0]?.is_directory === true)
        throw systemError('EISDIR', operation, this.describe(path));
      await client.query(SQL.fileMakeFolders, this.folderRows(folders));
      const result = await client.query(statement, [
        this.conversationId,
        full,
        parentStorePath(full),
        typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data),
      ]);
      return result.rowCount !== 0;
    });
    if (written) this.stats.writes += 1;
    return written;
  }

  /** Refuses a path below a file (`ENOTDIR`), or a folder where a file is (`EEXIST`). */
  private async checkFolders(
    client: pg.PoolClient,
    full: string,
    folders: string[],
    operation: string,
  ): Promise<void> {
    if (folders.length === 0) return;
    const { rows } = await client.query<Entry>(SQL.fileEntries, [this.conversationId, folders]);
    for (const row of rows) {
      if (row.is_directory) continue;
      if (row.path === full && operation === 'mkdir') {
        throw systemError('EEXIST', 'mkdir', this.describeFull(full));
      }
      if (row.path !== full) throw systemError('ENOTDIR', operation, this.describeFull(full));
    }
  }

  private folderRows(folders: string[]): unknown[] {
    return [this.conversationId, folders, folders.map(parentStorePath)];
  }
}
