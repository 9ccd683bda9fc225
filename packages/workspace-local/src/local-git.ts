import { WorkspaceGitError } from '@ferry/sdk-core';
import type { GitChange, GitChangeStatus, GitDiff } from '@ferry/sdk-core';
import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { systemErrorCode } from './file-error';

/** git never takes locks for read-only queries, so an agent's own git commands are not blocked. */
export const GIT_ENV_OVERRIDES = { GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } as const;

/** What a git command printed, and whether it succeeded. */
export interface GitOutput {
  ok: boolean;
  stdout: Buffer;
  stderr: string;
}

/**
 * Where the git queries run: git itself and the few file lookups around it. The host's, or a
 * sandbox's (where a repository's hooks and config, chosen by the agent, cannot reach the host).
 */
export interface GitHost {
  /** Runs `git -c core.quotepath=false ...args` in `cwd`; rejects when git is missing. */
  git(cwd: string, args: readonly string[]): Promise<GitOutput>;
  realpath(path: string): Promise<string>;
  /** The names of the folders directly in `directory` (not symlinks) that hold a `.git`. */
  repositoriesIn(directory: string): Promise<string[]>;
  /** The text of `file`; `null` when it does not exist. */
  readText(file: string): Promise<string | null>;
  /** `directory` or its nearest ancestor that exists as a folder. */
  existingAncestor(directory: string): Promise<string>;
}

/** The error for a git that is not installed. */
export function gitMissing(cwd: string, cause?: unknown): WorkspaceGitError {
  return new WorkspaceGitError(cwd, 'git is not installed (or not on PATH).', { cause });
}

const GIT_ENV = { ...process.env, ...GIT_ENV_OVERRIDES };

/** git and files on the host. */
export const hostGit: GitHost = {
  git(cwd, args) {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['-c', 'core.quotepath=false', ...args],
        { cwd, env: GIT_ENV, encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error !== null && systemErrorCode(error) === 'ENOENT') {
            reject(gitMissing(cwd, error));
            return;
          }
          resolve({ ok: error === null, stdout, stderr: stderr.toString('utf8').trim() });
        },
      );
    });
  },
  realpath: (path) => realpath(path),
  async repositoriesIn(directory) {
    const entries = await readdir(directory, { withFileTypes: true });
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const isRepository = await stat(join(directory, entry.name, '.git')).then(
        () => true,
        () => false,
      );
      if (isRepository) names.push(entry.name);
    }
    return names;
  },
  readText: (file) =>
    readFile(file, 'utf8').catch((error: unknown) => {
      const code = systemErrorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw error;
    }),
  async existingAncestor(directory) {
    for (let current = directory; ; current = dirname(current)) {
      const exists = await stat(current).then(
        (info) => info.isDirectory(),
        () => false,
      );
      if (exists || dirname(current) === current) return current;
    }
  },
};

/** The top folder of the repository containing `directory`, or `undefined` outside one. */
export async function repositoryRoot(
  host: GitHost,
  directory: string,
): Promise<string | undefined> {
  const result = await host.git(directory, ['rev-parse', '--show-toplevel']);
  return result.ok ? result.stdout.toString('utf8').trim() : undefined;
}

/**
 * Files of the repository at `directory` that differ from `HEAD` (staged, unstaged or
 * untracked), with paths relative to `directory`. When `directory` is not in a repository,
 * the repositories directly inside it are listed instead (paths prefixed with their folder).
 */
export async function listGitChanges(
  host: GitHost,
  directory: string,
  inRepository: (directory: string, root: string) => Promise<GitChange[]> = (inside, root) =>
    changesInRepository(host, inside, root),
): Promise<GitChange[]> {
  const root = await repositoryRoot(host, directory);
  if (root !== undefined) return inRepository(directory, root);
  const names = await host.repositoriesIn(directory);
  const changes: GitChange[] = [];
  for (const name of names.sort((a, b) => a.localeCompare(b))) {
    const child = join(directory, name);
    const childRoot = await repositoryRoot(host, child);
    if (childRoot === undefined) continue;
    for (const change of await inRepository(child, childRoot)) {
      changes.push({ ...change, path: `${name}/${change.path}` });
    }
  }
  return changes;
}

async function changesInRepository(
  host: GitHost,
  directory: string,
  root: string,
): Promise<GitChange[]> {
  const result = await host.git(directory, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--find-renames',
    '--',
    '.',
  ]);
  if (!result.ok) throw new WorkspaceGitError(directory, result.stderr);
  const base = await host.realpath(directory);
  const fields = result.stdout.toString('utf8').split('\0');
  const changes: GitChange[] = [];
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index] ?? '';
    if (field.length < 4) continue;
    const code = field.slice(0, 2);
    // A rename or copy is followed by a field with the old path.
    if (code.includes('R') || code.includes('C')) index++;
    const status = changeStatus(code);
    if (status === undefined) continue;
    const path = relative(base, join(root, field.slice(3)))
      .split(sep)
      .join('/');
    changes.push({ status, path });
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Maps a porcelain `XY` code to how the file differs from `HEAD`. */
function changeStatus(code: string): GitChangeStatus | undefined {
  const [index = ' ', tree = ' '] = code;
  if (code === '??') return 'ADDED';
  if (code === '!!') return undefined;
  if (index === 'A' && tree === 'D') return undefined; // added, then deleted: nothing vs HEAD
  if (index === 'U' || tree === 'U' || code === 'AA' || code === 'DD') return 'UPDATED';
  if (index === 'R' || tree === 'R') return 'MOVED';
  if (index === 'A' || index === 'C') return 'ADDED';
  if (index === 'D' || tree === 'D') return 'DELETED';
  return 'UPDATED';
}

/**
 * The repository holding `file` (absolute, may no longer exist) and its path inside it; throws
 * {@link WorkspaceGitError} when it is not inside a repository.
 */
export async function locateInRepository(
  host: GitHost,
  file: string,
): Promise<{ root: string; pathInRepository: string }> {
  const directory = await host.existingAncestor(dirname(file));
  const root = await repositoryRoot(host, directory);
  if (root === undefined) throw new WorkspaceGitError(file, 'it is not inside a git repository.');
  const realDirectory = await host.realpath(directory);
  const pathInRepository = relative(root, join(realDirectory, relative(directory, file)))
    .split(sep)
    .join('/');
  return { root, pathInRepository };
}

/**
 * The text of `file` at `revision` (default `HEAD`) and on disk. `file` is absolute and may no
 * longer exist; throws {@link WorkspaceGitError} when it is not inside a repository.
 */
export async function readGitDiff(
  host: GitHost,
  file: string,
  revision = 'HEAD',
): Promise<GitDiff> {
  const { root, pathInRepository } = await locateInRepository(host, file);
  const original = await host.git(root, ['show', `${revision}:${pathInRepository}`]);
  const modified = await host.readText(file);
  return { original: original.ok ? original.stdout.toString('utf8') : null, modified };
}
