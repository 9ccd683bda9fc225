import {
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  WorkspaceFileError,
  WorkspaceGitError,
} from '@ferry/sdk-core';
import type {
  CommandResult,
  ExecuteCommandOptions,
  FileEntry,
  FileStat,
  GitChange,
  GitCommitsPage,
  GitDiff,
  OpenShellOptions,
  ShellSession,
  Workspace,
  WorkspaceCapabilities,
  WorkspaceDescriptor,
} from '@ferry/sdk-core';
import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { executeCommand } from './execute-command';
import { systemErrorCode, toFileError, withFileErrors } from './file-error';
import { existingAncestor, listGitChanges, readGitDiff, repositoryRoot } from './local-git';
import {
  changesSinceCommit,
  commitChanges,
  diffOfCommit,
  diffSinceCommit,
  listCommits,
  resolveCommit,
} from './local-git-history';
import { LocalShellSession } from './local-shell-session';
import { resolveConfinedPath } from './resolve-path';

/** Options of {@link LocalWorkspace}. */
export interface LocalWorkspaceOptions {
  /** The folder the agent works in; relative paths resolve against it. Created when missing. */
  workingDir: string;
  /** Extra folders the agent's file operations may reach besides `workingDir`. */
  allowedRoots?: readonly string[];
  /** Variables added to the host environment for every command and shell session. */
  env?: Readonly<Record<string, string>>;
}

/**
 * The host's shell, files and git for an agent: commands run with `bash` as the current user;
 * file operations are confined to `workingDir` and `allowedRoots`. Implements the
 * {@link Workspace} interface of `@ferry/sdk-core`.
 */
export class LocalWorkspace implements Workspace {
  readonly kind = 'LocalWorkspace';
  /** Absolute working directory. */
  readonly workingDir: string;
  /** Absolute folders file operations may reach, `workingDir` first. */
  readonly allowedRoots: readonly string[];
  readonly capabilities: WorkspaceCapabilities = {
    shellSessions: true,
    shellInput: true,
    symlinks: true,
    git: true,
  };
  readonly #env: NodeJS.ProcessEnv;
  readonly #sessions = new Map<string, LocalShellSession>();
  #workingDirReady: Promise<unknown> | undefined;

  constructor(options: LocalWorkspaceOptions) {
    this.workingDir = resolve(options.workingDir);
    this.allowedRoots = [this.workingDir, ...(options.allowedRoots ?? []).map((r) => resolve(r))];
    this.#env = { ...process.env, ...options.env };
  }

  /**
   * Resolves `path` (relative to `workingDir`) and checks it stays inside an allowed root,
   * following symlinks of the part that exists. Throws `PathOutsideWorkspaceError`.
   */
  resolvePath(path: string): Promise<string> {
    return resolveConfinedPath(path, this.workingDir, this.allowedRoots);
  }

  async executeCommand(
    command: string,
    options: ExecuteCommandOptions = {},
  ): Promise<CommandResult> {
    await this.#ensureWorkingDir();
    const cwd = options.cwd === undefined ? this.workingDir : await this.resolvePath(options.cwd);
    if (options.cwd !== undefined) await this.#requireDirectory('run a command in', cwd);
    return executeCommand({
      command,
      cwd,
      env: { ...this.#env, ...options.env },
      timeout: options.timeout ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
      signal: options.signal,
      onOutput: options.onOutput,
    });
  }

  async openShell(options: OpenShellOptions = {}): Promise<ShellSession> {
    const id = options.id ?? randomUUID();
    const open = this.#sessions.get(id);
    if (open !== undefined) return open;
    await this.#ensureWorkingDir();
    const session = new LocalShellSession({
      id,
      workingDir: this.workingDir,
      env: this.#env,
      onClose: () => {
        if (this.#sessions.get(id) === session) this.#sessions.delete(id);
      },
    });
    this.#sessions.set(id, session);
    try {
      await session.reset();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  async readFile(path: string): Promise<Uint8Array> {
    const absolute = await this.resolvePath(path);
    const data = await withFileErrors('read', path, () => readFile(absolute));
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const absolute = await this.resolvePath(path);
    await withFileErrors('write', path, async () => {
      await mkdir(dirname(absolute), { recursive: true });
      await writeFile(absolute, data);
    });
  }

  async listFiles(path = '.'): Promise<FileEntry[]> {
    const absolute = await this.resolvePath(path);
    const names = await withFileErrors('list', path, () => readdir(absolute));
    const entries = await Promise.all(
      names.map(async (name): Promise<FileEntry | undefined> => {
        const entryPath = join(absolute, name);
        const info = await lstat(entryPath).catch(() => undefined);
        return info === undefined ? undefined : { name, ...describe(entryPath, info) };
      }),
    );
    return entries
      .filter((entry) => entry !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(path: string): Promise<FileStat> {
    const absolute = await this.resolvePath(path);
    return describe(absolute, await withFileErrors('stat', path, () => lstat(absolute)));
  }

  async exists(path: string): Promise<boolean> {
    const absolute = await this.resolvePath(path);
    try {
      await lstat(absolute);
      return true;
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw toFileError('stat', path, error);
    }
  }

  async uploadFile(localPath: string, remotePath: string): Promise<void> {
    const destination = await this.resolvePath(remotePath);
    await this.#requireFile('upload', localPath, localPath);
    await withFileErrors('upload to', remotePath, async () => {
      await mkdir(dirname(destination), { recursive: true });
      await copyFile(localPath, destination);
    });
  }

  async downloadFile(remotePath: string, localPath: string): Promise<void> {
    const source = await this.resolvePath(remotePath);
    await this.#requireFile('download', remotePath, source);
    await withFileErrors('download to', localPath, async () => {
      await mkdir(dirname(resolve(localPath)), { recursive: true });
      await copyFile(source, localPath);
    });
  }

  /**
   * Files that differ from `HEAD`, or from the commit `options.ref` names (then untracked files
   * count as `ADDED` too). A `ref` that names no commit throws `GitRevisionError`.
   */
  async gitChanges(path = '.', options: { ref?: string } = {}): Promise<GitChange[]> {
    const directory = await this.resolvePath(path);
    await this.#requireDirectory('list git changes of', directory);
    const { ref } = options;
    if (ref === undefined || ref === 'HEAD') return listGitChanges(directory);
    return listGitChanges(directory, async (inside) =>
      changesSinceCommit(inside, await resolveCommit(inside, ref)),
    );
  }

  /**
   * One file at `HEAD` (or at `options.ref`) and on disk; with `options.commit`, the change that
   * commit made to it instead (both sides from git). Throws `WorkspaceGitError` outside a
   * repository and `GitRevisionError` for a ref or commit that names no commit.
   */
  async gitDiff(path: string, options: { ref?: string; commit?: string } = {}): Promise<GitDiff> {
    const file = await this.resolvePath(path);
    if (options.commit !== undefined) return diffOfCommit(file, options.commit);
    if (options.ref !== undefined && options.ref !== 'HEAD') {
      return diffSinceCommit(file, options.ref);
    }
    return readGitDiff(file);
  }

  /** The newest `limit` (default 50) commits reachable from `HEAD` of the repository at `path`. */
  async gitCommits(path = '.', options: { limit?: number } = {}): Promise<GitCommitsPage> {
    const directory = await this.resolvePath(path);
    await this.#requireDirectory('list git commits of', directory);
    if ((await repositoryRoot(directory)) === undefined) {
      throw new WorkspaceGitError(path, 'it is not inside a git repository.');
    }
    return listCommits(directory, options.limit ?? 50);
  }

  /** The files the commit `revision` changed against its first parent, relative to the repository root. */
  async gitCommitChanges(path: string, revision: string): Promise<GitChange[]> {
    const directory = await this.resolvePath(path);
    await this.#requireDirectory('list git changes of', directory);
    if ((await repositoryRoot(directory)) === undefined) {
      throw new WorkspaceGitError(path, 'it is not inside a git repository.');
    }
    return commitChanges(directory, revision);
  }

  /** Whether `path` (or its nearest existing ancestor) lies inside a git repository. */
  async isInGitRepository(path: string): Promise<boolean> {
    const absolute = await this.resolvePath(path);
    return (await repositoryRoot(await existingAncestor(absolute))) !== undefined;
  }

  toDescriptor(): WorkspaceDescriptor {
    return { kind: this.kind, working_dir: this.workingDir };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #ensureWorkingDir(): Promise<unknown> {
    this.#workingDirReady ??= mkdir(this.workingDir, { recursive: true }).catch(
      (error: unknown) => {
        this.#workingDirReady = undefined;
        throw error;
      },
    );
    return this.#workingDirReady;
  }

  async #requireDirectory(operation: string, absolute: string): Promise<void> {
    const info = await withFileErrors(operation, absolute, () => stat(absolute));
    if (!info.isDirectory()) throw new WorkspaceFileError(operation, absolute, 'not_a_directory');
  }

  async #requireFile(operation: string, path: string, absolute: string): Promise<void> {
    const info = await withFileErrors(operation, path, () => stat(absolute));
    if (info.isDirectory()) throw new WorkspaceFileError(operation, path, 'is_a_directory');
  }
}

function describe(path: string, info: Stats): FileStat {
  const type = info.isSymbolicLink()
    ? 'symlink'
    : info.isDirectory()
      ? 'directory'
      : info.isFile()
        ? 'file'
        : 'other';
  return { path, type, size: info.size, modified_at: info.mtime.toISOString() };
}
