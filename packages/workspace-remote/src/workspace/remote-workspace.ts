import {
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  PathOutsideWorkspaceError,
  WorkspaceFileError,
  WorkspaceGitError,
  gitChangeSchema,
  gitDiffSchema,
} from '@ferry/sdk-core';
import type {
  CommandResult,
  ExecuteCommandOptions,
  FileEntry,
  FileStat,
  GitChange,
  GitDiff,
  ShellSession,
  Workspace,
  WorkspaceCapabilities,
  WorkspaceDescriptor,
  WorkspaceFileErrorReason,
} from '@ferry/sdk-core';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, rename, rm, stat as localStat } from 'node:fs/promises';
import { dirname, resolve as resolveLocal } from 'node:path';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { RemoteServerError } from '../errors/remote-server-error';
import { WorkspaceCapabilityError } from '../errors/workspace-capability-error';
import { HttpClient } from '../http/http-client';
import { confinePath } from './confine-path';
import {
  SCRIPT_EXIT,
  confinementCheck,
  existsScript,
  listScript,
  parseList,
  parseStat,
  statScript,
} from './file-scripts';
import { runRemoteCommand } from './remote-command';
import { exportLines, shellQuote } from './shell-quote';

/** Options of {@link RemoteWorkspace}. */
export interface RemoteWorkspaceOptions {
  /** Base URL of a Ferry server, e.g. `http://127.0.0.1:8000`. */
  host: string;
  /** Sent as `X-Session-API-Key` (the WebSocket gets it in its first frame). */
  apiKey?: string;
  /**
   * The absolute folder on the server the agent works in; it must lie inside the server's
   * workspace root. Created on first use.
   */
  workingDir: string;
  /**
   * Seconds each HTTP request may take (default 60). A command gets its own timeout on top;
   * file transfers are not limited.
   */
  timeout?: number;
}

/** A Ferry server's `/server_info` answer. */
export interface RemoteServerInfo {
  name: string;
  /** The OpenHands agent-server protocol version the server implements (e.g. `1.43.1`). */
  version: string;
  /** The server's own `@ferry/server` version (absent on OpenHands' server). */
  ferry_version?: string | undefined;
  uptime: number;
  started_at: string;
}

/** The `workspace` document of a conversation that runs in a {@link RemoteWorkspace}. */
export interface RemoteWorkspaceDescriptor extends WorkspaceDescriptor {
  kind: 'RemoteWorkspace';
  host: string;
}

const serverInfoSchema = z.looseObject({
  name: z.string(),
  version: z.string(),
  uptime: z.number(),
  started_at: z.string(),
});

/**
 * A workspace on a Ferry server (or an OpenHands agent server), reached over its HTTP API:
 * commands through `/api/bash`, files through `/api/file/upload|download` (listings and
 * stats through small shell commands), git through `/api/git/changes|diff`. Implements the
 * {@link Workspace} interface of `@ferry/sdk-core`.
 *
 * The server's API has no persistent shell sessions, so `capabilities.shellSessions` is false
 * and {@link RemoteWorkspace.openShell} throws {@link WorkspaceCapabilityError}. File
 * operations are confined to `workingDir`: `..` and absolute paths elsewhere are refused
 * before any request, and symlinks that lead out are refused by a check on the server.
 */
export class RemoteWorkspace implements Workspace {
  readonly kind = 'RemoteWorkspace';
  /** The server's origin, e.g. `http://127.0.0.1:8000`. */
  readonly host: string;
  /** Absolute working directory on the server. */
  readonly workingDir: string;
  readonly capabilities: WorkspaceCapabilities = {
    shellSessions: false,
    shellInput: false,
    symlinks: true,
    git: true,
  };
  readonly #client: HttpClient;
  readonly #apiKey: string | undefined;
  #workingDirReady: Promise<unknown> | undefined;

  constructor(options: RemoteWorkspaceOptions) {
    this.#client = new HttpClient({
      host: options.host,
      apiKey: options.apiKey,
      timeout: options.timeout ?? 60,
      caller: 'RemoteWorkspace',
    });
    this.host = this.#client.host;
    this.#apiKey = options.apiKey;
    if (!posix.isAbsolute(options.workingDir)) {
      throw new RemoteServerError(
        `RemoteWorkspace: workingDir "${options.workingDir}" must be an absolute path on the server, e.g. "/workspace/project".`,
      );
    }
    this.workingDir = posix.resolve(options.workingDir);
  }

  /** The API key this workspace sends, for a `RemoteConversation` on the same server. */
  get apiKey(): string | undefined {
    return this.#apiKey;
  }

  /** Asks the server who it is; fails with {@link RemoteServerError} when it cannot. */
  async serverInfo(): Promise<RemoteServerInfo> {
    return serverInfoSchema.parse(await this.#client.json({ path: '/server_info' }));
  }

  async executeCommand(
    command: string,
    options: ExecuteCommandOptions = {},
  ): Promise<CommandResult> {
    options.signal?.throwIfAborted();
    await this.#ensureWorkingDir();
    let cwd = this.workingDir;
    if (options.cwd !== undefined) {
      cwd = confinePath(options.cwd, this.workingDir);
      await this.#checkDirectory(options.cwd, cwd);
    }
    return runRemoteCommand({
      client: this.#client,
      command,
      script: options.env === undefined ? command : `${exportLines(options.env)}${command}`,
      cwd,
      timeout: options.timeout ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
      signal: options.signal,
      onOutput: options.onOutput,
    });
  }

  /** Always throws: the server's HTTP API has no persistent shell sessions. */
  openShell(): Promise<ShellSession> {
    return Promise.reject(
      new WorkspaceCapabilityError(
        'persistent shell sessions',
        this.kind,
        'Use executeCommand (each call starts a fresh shell), or run the conversation on the server ' +
          'with RemoteConversation, where the terminal tool has a real session.',
      ),
    );
  }

  async readFile(path: string): Promise<Uint8Array> {
    const absolute = await this.#confine('read', path);
    const response = await this.#client.send({
      path: '/api/file/download',
      query: { path: absolute },
      timeout: null,
      context: { path, operation: 'read' },
    });
    return new Uint8Array(await response.arrayBuffer());
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const absolute = await this.#confine('write', path);
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.#upload(path, absolute, new Blob([bytes]), 'write');
  }

  async listFiles(path = '.'): Promise<FileEntry[]> {
    const absolute = confinePath(path, this.workingDir);
    const result = await this.#script(listScript(this.workingDir, absolute));
    this.#scriptFailure('list', path, result);
    return parseList(absolute, result.stdout);
  }

  async stat(path: string): Promise<FileStat> {
    const absolute = confinePath(path, this.workingDir);
    const result = await this.#script(statScript(this.workingDir, absolute));
    this.#scriptFailure('stat', path, result);
    return parseStat(absolute, result.stdout);
  }

  async exists(path: string): Promise<boolean> {
    const absolute = confinePath(path, this.workingDir);
    const result = await this.#script(existsScript(this.workingDir, absolute));
    this.#scriptFailure('stat', path, result);
    return result.stdout.trim() === 'yes';
  }

  async uploadFile(localPath: string, remotePath: string): Promise<void> {
    const absolute = await this.#confine('upload to', remotePath);
    const source = resolveLocal(localPath);
    const info = await localStat(source).catch((error: unknown) => {
      throw new WorkspaceFileError('upload', localPath, localReason(error), { cause: error });
    });
    if (info.isDirectory()) throw new WorkspaceFileError('upload', localPath, 'is_a_directory');
    await this.#upload(remotePath, absolute, await openAsBlob(source), 'upload to');
  }

  async downloadFile(remotePath: string, localPath: string): Promise<void> {
    const absolute = await this.#confine('download', remotePath);
    const response = await this.#client.send({
      path: '/api/file/download',
      query: { path: absolute },
      timeout: null,
      context: { path: remotePath, operation: 'download' },
    });
    const target = resolveLocal(localPath);
    await mkdir(dirname(target), { recursive: true });
    // Written beside the target and renamed, so a broken transfer leaves no partial file.
    const partial = `${target}.${process.pid}.${Date.now()}.part`;
    try {
      if (response.body === null) throw new RemoteServerError('The download has no body.');
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        createWriteStream(partial),
      );
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async gitChanges(path = '.'): Promise<GitChange[]> {
    const absolute = await this.#confine('list git changes of', path);
    const answer = await this.#client.json({
      path: '/api/git/changes',
      query: { path: absolute },
      context: { path, operation: 'list git changes of' },
    });
    return z.array(gitChangeSchema).parse(answer);
  }

  async gitDiff(path: string): Promise<GitDiff> {
    const absolute = await this.#confine('diff', path);
    try {
      const response = await this.#client.send({
        path: '/api/git/diff',
        query: { path: absolute },
        context: { path, operation: 'diff' },
      });
      // The server answers an empty diff outside a repository, as OpenHands does, and says so
      // in this header; this interface reports it as an error.
      if (response.headers.get('x-ferry-git-repository') === 'not-a-repository') {
        await response.body?.cancel();
        throw new WorkspaceGitError(path, 'it is not inside a git repository.');
      }
      return gitDiffSchema.parse(await response.json());
    } catch (error) {
      if (WorkspaceFileError.isInstance(error) || WorkspaceGitError.isInstance(error)) throw error;
      if (RemoteServerError.isInstance(error) && error.status !== undefined && error.status < 500) {
        throw new WorkspaceGitError(path, error.message, { cause: error });
      }
      throw error;
    }
  }

  /** `{ kind: 'RemoteWorkspace', working_dir, host }`, as persisted in a conversation's state. */
  toDescriptor(): RemoteWorkspaceDescriptor {
    return { kind: this.kind, working_dir: this.workingDir, host: this.host };
  }

  /** Nothing to release: every call is a request of its own. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Resolves `path` in the working directory and checks its symlinks on the server. */
  async #confine(operation: string, path: string): Promise<string> {
    const absolute = confinePath(path, this.workingDir);
    const result = await this.#script(confinementCheck(this.workingDir, [absolute]));
    this.#scriptFailure(operation, path, result);
    return absolute;
  }

  async #checkDirectory(path: string, absolute: string): Promise<void> {
    const quoted = shellQuote(absolute);
    const result = await this.#script(
      `${confinementCheck(this.workingDir, [absolute])}` +
        `[ -e ${quoted} ] || exit ${SCRIPT_EXIT.notFound}\n` +
        `[ -d ${quoted} ] || exit ${SCRIPT_EXIT.notADirectory}\n`,
    );
    this.#scriptFailure('run a command in', path, result);
  }

  /** Runs one of the helper scripts in the working directory. */
  async #script(script: string): Promise<CommandResult> {
    await this.#ensureWorkingDir();
    return runRemoteCommand({
      client: this.#client,
      command: script,
      script,
      cwd: this.workingDir,
      timeout: DEFAULT_COMMAND_TIMEOUT_SECONDS,
    });
  }

  /** Throws the error a helper script's exit code stands for. */
  #scriptFailure(operation: string, path: string, result: CommandResult): void {
    if (result.exit_code === 0) return;
    const reason = scriptReason(result.exit_code);
    if (reason === 'outside') throw new PathOutsideWorkspaceError(path, [this.workingDir]);
    throw new WorkspaceFileError(operation, path, reason, {
      cause: new RemoteServerError(
        `${operation} "${path}" failed on ${this.host} (exit code ${result.exit_code}): ${result.stderr.trim()}`,
      ),
    });
  }

  async #upload(path: string, absolute: string, blob: Blob, operation: string): Promise<void> {
    const form = new FormData();
    form.append('file', blob, posix.basename(absolute));
    await this.#client.json({
      method: 'POST',
      path: '/api/file/upload',
      query: { path: absolute },
      body: form,
      timeout: null,
      context: { path, operation },
    });
  }

  #ensureWorkingDir(): Promise<unknown> {
    this.#workingDirReady ??= runRemoteCommand({
      client: this.#client,
      command: 'mkdir',
      script: `mkdir -p -- ${shellQuote(this.workingDir)}`,
      cwd: '.',
      timeout: DEFAULT_COMMAND_TIMEOUT_SECONDS,
    }).then(
      (result) => {
        if (result.exit_code !== 0) {
          throw new WorkspaceFileError('create', this.workingDir, 'other', {
            cause: new RemoteServerError(result.stderr.trim()),
          });
        }
      },
      (error: unknown) => {
        this.#workingDirReady = undefined;
        throw error;
      },
    );
    return this.#workingDirReady;
  }
}

function scriptReason(exitCode: number): WorkspaceFileErrorReason | 'outside' {
  switch (exitCode) {
    case SCRIPT_EXIT.outside:
      return 'outside';
    case SCRIPT_EXIT.notFound:
      return 'not_found';
    case SCRIPT_EXIT.notADirectory:
      return 'not_a_directory';
    default:
      return 'other';
  }
}

function localReason(error: unknown): WorkspaceFileErrorReason {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : '';
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'not_found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission_denied';
  return 'other';
}
