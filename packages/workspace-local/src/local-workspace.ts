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
import { hostLauncher } from './launcher';
import type { Launcher } from './launcher';
import { hostGit, listGitChanges, readGitDiff, repositoryRoot } from './local-git';
import type { GitHost } from './local-git';
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
import { Sandbox } from './sandbox/sandbox';
import { SandboxFiles } from './sandbox/sandbox-files';
import { sandboxGit } from './sandbox/sandbox-git';
import type { SandboxOptions } from './sandbox/sandbox-options';

/** Options of {@link LocalWorkspace}. */
export interface LocalWorkspaceOptions {
  /** The folder the agent works in; relative paths resolve against it. Created when missing. */
  workingDir: string;
  /** Extra folders the agent's file operations may reach besides `workingDir`. */
  allowedRoots?: readonly string[];
  /**
   * Variables for every command and shell session. Unsandboxed they are added to the host's
   * environment; sandboxed they are the whole environment besides `PATH`, `HOME` (`/tmp`) and
   * `LANG`: this is how a conversation's own secrets reach its commands, and nothing else does.
   */
  env?: Readonly<Record<string, string>>;
  /**
   * Run every command, shell session, file operation and git query inside a bubblewrap
   * sandbox (`true` for the defaults): only `workingDir`, `allowedRoots` and the mounts the
   * options name are visible, the system folders read-only, with a clean environment and
   * private `/proc`, `/tmp` and process tree. Throws `SandboxUnavailableError` at once when
   * bwrap cannot run here; it never falls back to the host.
   */
  sandbox?: boolean | SandboxOptions;
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
  /** Whether everything runs in a bubblewrap sandbox. */
  readonly sandboxed: boolean;
  readonly #env: NodeJS.ProcessEnv;
  readonly #sandbox: Sandbox | undefined;
  readonly #files: SandboxFiles | undefined;
  readonly #git: GitHost;
  readonly #launcher: Launcher;
  readonly #sessions = new Map<string, LocalShellSession>();
  #workingDirReady: Promise<unknown> | undefined;

  constructor(options: LocalWorkspaceOptions) {
    this.workingDir = resolve(options.workingDir);
    this.allowedRoots = [this.workingDir, ...(options.allowedRoots ?? []).map((r) => resolve(r))];
    const sandbox = options.sandbox ?? false;
    this.#sandbox =
      sandbox === false
        ? undefined
        : Sandbox.create({ options: sandbox, readWrite: this.allowedRoots });
    this.sandboxed = this.#sandbox !== undefined;
    this.#env =
      this.#sandbox === undefined ? { ...process.env, ...options.env } : { ...options.env };
    this.#files = this.#sandbox === undefined ? undefined : new SandboxFiles(this.#sandbox);
    this.#git = this.#sandbox === undefined ? hostGit : sandboxGit(this.#sandbox);
    this.#launcher = this.#sandbox?.launcher ?? hostLauncher;
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
      launcher: this.#launcher,
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
      launcher: this.#launcher,
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
    if (this.#files !== undefined) return this.#files.readFile(absolute, path);
    const data = await withFileErrors('read', path, () => readFile(absolute));
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const absolute = await this.resolvePath(path);
    if (this.#files !== undefined) {
      await this.#ensureWorkingDir();
      return this.#files.writeFile(absolute, path, data);
    }
    await withFileErrors('write', path, async () => {
      await mkdir(dirname(absolute), { recursive: true });
      await writeFile(absolute, data);
    });
  }

  async listFiles(path = '.'): Promise<FileEntry[]> {
    const absolute = await this.resolvePath(path);
    if (this.#files !== undefined) return this.#files.listFiles(absolute, path);
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
    if (this.#files !== undefined) return this.#files.stat(absolute, path);
    return describe(absolute, await withFileErrors('stat', path, () => lstat(absolute)));
  }

  async exists(path: string): Promise<boolean> {
    const absolute = await this.resolvePath(path);
    if (this.#files !== undefined) return this.#files.exists(absolute);
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
    if (this.#files !== undefined) {
      // The local file is the caller's, read on the host; only the workspace side is sandboxed.
      const data = await withFileErrors('upload', localPath, () => readFile(localPath));
      return this.writeFile(destination, data);
    }
    await withFileErrors('upload to', remotePath, async () => {
      await mkdir(dirname(destination), { recursive: true });
      await copyFile(localPath, destination);
    });
  }

  async downloadFile(remotePath: string, localPath: string): Promise<void> {
    const source = await this.resolvePath(remotePath);
    if (this.#files !== undefined) {
      const data = await this.#files.readFile(source, remotePath);
      return withFileErrors('download to', localPath, async () => {
        await mkdir(dirname(resolve(localPath)), { recursive: true });
        await writeFile(localPath, data);
      });
    }
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
    if (ref === undefined || ref === 'HEAD') return listGitChanges(this.#git, directory);
    return listGitChanges(this.#git, directory, async (inside) =>
      changesSinceCommit(this.#git, inside, await resolveCommit(this.#git, inside, ref)),
    );
  }

  /**
   * One file at `HEAD` (or at `options.ref`) and on disk; with `options.commit`, the change that
   * commit made to it instead (both sides from git). Throws `WorkspaceGitError` outside a
   * repository and `GitRevisionError` for a ref or commit that names no commit.
   */
  async gitDiff(path: string, options: { ref?: string; commit?: string } = {}): Promise<GitDiff> {
    const file = await this.resolvePath(path);
    if (options.commit !== undefined) return diffOfCommit(this.#git, file, options.commit);
    if (options.ref !== undefined && options.ref !== 'HEAD') {
      return diffSinceCommit(this.#git, file, options.ref);
    }
    return readGitDiff(this.#git, file);
  }

  /** The newest `limit` (default 50) commits reachable from `HEAD` of the repository at `path`. */
  async gitCommits(path = '.', options: { limit?: number } = {}): Promise<GitCommitsPage> {
    const directory = await this.resolvePath(path);
    await this.#requireDirectory('list git commits of', directory);
    if ((await repositoryRoot(this.#git, directory)) === undefined) {
      throw new WorkspaceGitError(path, 'it is not inside a git repository.');
    }
    return listCommits(this.#git, directory, options.limit ?? 50);
  }

  /** The files the commit `revision` changed against its first parent, relative to the repository root. */
  async gitCommitChanges(path: string, revision: string): Promise<GitChange[]> {
    const directory = await this.resolvePath(path);
    await this.#requireDirectory('list git changes of', directory);
    if ((await repositoryRoot(this.#git, directory)) === undefined) {
      throw new WorkspaceGitError(path, 'it is not inside a git repository.');
    }
    return commitChanges(this.#git, directory, revision);
  }

  /** Whether `path` (or its nearest existing ancestor) lies inside a git repository. */
  async isInGitRepository(path: string): Promise<boolean> {
    const absolute = await this.resolvePath(path);
    return (
      (await repositoryRoot(this.#git, await this.#git.existingAncestor(absolute))) !== undefined
    );
  }

  toDescriptor(): WorkspaceDescriptor {
    return { kind: this.kind, working_dir: this.workingDir };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
    await this.#sandbox?.close();
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
    if (this.#files !== undefined) return this.#files.requireDirectory(operation, absolute);
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
