import type { CommandResult } from './command-result';
import type { ExecuteCommandOptions } from './execute-command-options';
import type { FileEntry, FileStat } from './file-entry';
import type { GitChange } from './git-change';
import type { GitDiff } from './git-diff';
import type { OpenShellOptions, ShellSession } from './shell-session';
import type { WorkspaceCapabilities } from './workspace-capabilities';
import type { WorkspaceDescriptor, WorkspaceKind } from './workspace-descriptor';

/**
 * Where an agent's commands run and its files live: the host (`LocalWorkspace`) or a Ferry
 * server (`RemoteWorkspace`). Tools such as `terminal` and `file_editor` work only through it.
 *
 * Paths are relative to `workingDir` unless absolute. File operations are confined to the
 * workspace: a path that escapes through `..`, an absolute path elsewhere or a symlink pointing
 * out is refused with `PathOutsideWorkspaceError` before anything is touched. Commands are not
 * confined; they run with the user's rights. Timeouts are in seconds.
 */
export interface Workspace extends AsyncDisposable {
  /** The OpenHands class name of this workspace, as written in its descriptor. */
  readonly kind: WorkspaceKind;
  /** Absolute working directory; relative paths and commands start here. */
  readonly workingDir: string;
  /** What this workspace supports beyond one-shot commands and files. */
  readonly capabilities: WorkspaceCapabilities;

  /**
   * Runs `command` with `bash -c` in a fresh process and resolves when it exits or times out
   * (then it is killed: `exit_code: -1`, `timeout_occurred: true`). Nothing persists between
   * calls; use {@link Workspace.openShell} for that.
   */
  executeCommand(command: string, options?: ExecuteCommandOptions): Promise<CommandResult>;

  /** Opens a persistent shell session, or returns the open one with the same `id`. */
  openShell(options?: OpenShellOptions): Promise<ShellSession>;

  /** Reads a whole file. Throws `WorkspaceFileError` (`not_found`, `is_a_directory`, ...). */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole file (a string as UTF-8), creating missing parent directories. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** The entries of a directory (default: the working directory), sorted by name. */
  listFiles(path?: string): Promise<FileEntry[]>;
  /** Facts about a file or directory, without following a final symlink. */
  stat(path: string): Promise<FileStat>;
  /** Whether `path` exists; still throws `PathOutsideWorkspaceError` for a path outside. */
  exists(path: string): Promise<boolean>;
  /** Copies a file from the caller's machine into the workspace. */
  uploadFile(localPath: string, remotePath: string): Promise<void>;
  /** Copies a file from the workspace to the caller's machine. */
  downloadFile(remotePath: string, localPath: string): Promise<void>;

  /**
   * Files that differ from `HEAD` in the git repository at `path` (default: the working
   * directory), or in the repositories directly inside it when it is not one; paths are
   * relative to `path`. Empty when there is no repository.
   */
  gitChanges(path?: string): Promise<GitChange[]>;
  /** The `HEAD` and on-disk text of one file. Throws `WorkspaceGitError` outside a repository. */
  gitDiff(path: string): Promise<GitDiff>;

  /** The document persisted in a conversation's state for this workspace. */
  toDescriptor(): WorkspaceDescriptor;
  /** Closes every shell session and frees what the workspace holds; files stay. */
  close(): Promise<void>;
}
