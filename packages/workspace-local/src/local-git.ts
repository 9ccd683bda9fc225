import { WorkspaceGitError } from '@ferry/sdk-core';
import type { GitChange, GitChangeStatus, GitDiff } from '@ferry/sdk-core';
import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { systemErrorCode } from './file-error';

/** git never takes locks for read-only queries, so an agent's own git commands are not blocked. */
const GIT_ENV = { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };

export interface GitOutput {
  ok: boolean;
  stdout: Buffer;
  stderr: string;
}

/** Runs git in `cwd`; resolves with its output whether it succeeded or not. */
export function git(cwd: string, args: readonly string[]): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.quotepath=false', ...args],
      { cwd, env: GIT_ENV, encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && systemErrorCode(error) === 'ENOENT') {
          reject(
            new WorkspaceGitError(cwd, 'git is not installed (or not on PATH).', { cause: error }),
          );
          return;
        }
        resolve({ ok: error === null, stdout, stderr: stderr.toString('utf8').trim() });
      },
    );
  });
}

/** The top folder of the repository containing `directory`, or `undefined` outside one. */
export async function repositoryRoot(directory: string): Promise<string | undefined> {
  const result = await git(directory, ['rev-parse', '--show-toplevel']);
  return result.ok ? result.stdout.toString('utf8').trim() : undefined;
}

/**
 * Files of the repository at `directory` that differ from `HEAD` (staged, unstaged or
 * untracked), with paths relative to `directory`. When `directory` is not in a repository,
 * the repositories directly inside it are listed instead (paths prefixed with their folder).
 * `inRepository` lists one repository's changes (default: against `HEAD`).
 */
export async function listGitChanges(
  directory: string,
  inRepository: (directory: string, root: string) => Promise<GitChange[]> = changesInRepository,
): Promise<GitChange[]> {
  const root = await repositoryRoot(directory);
  if (root !== undefined) return inRepository(directory, root);
  const entries = await readdir(directory, { withFileTypes: true });
  const changes: GitChange[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    const child = join(directory, entry.name);
    const isRepository = await stat(join(child, '.git')).then(
      () => true,
      () => false,
    );
    if (!isRepository) continue;
    const childRoot = await repositoryRoot(child);
    if (childRoot === undefined) continue;
    for (const change of await inRepository(child, childRoot)) {
      changes.push({ ...change, path: `${entry.name}/${change.path}` });
    }
  }
  return changes;
}

async function changesInRepository(directory: string, root: string): Promise<GitChange[]> {
  const result = await git(directory, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--find-renames',
    '--',
    '.',
  ]);
  if (!result.ok) throw new WorkspaceGitError(directory, result.stderr);
  const base = await realpath(directory);
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
 * The repository of `file` (absolute, may no longer exist) and its path there; throws
 * {@link WorkspaceGitError} when it is not inside a repository.
 */
export async function locateInRepository(
  file: string,
): Promise<{ root: string; pathInRepository: string }> {
  const directory = await existingAncestor(dirname(file));
  const root = await repositoryRoot(directory);
  if (root === undefined) throw new WorkspaceGitError(file, 'it is not inside a git repository.');
  const realDirectory = await realpath(directory);
  const pathInRepository = relative(root, join(realDirectory, relative(directory, file)))
    .split(sep)
    .join('/');
  return { root, pathInRepository };
}

/**
 * The text of `file` at `revision` (default `HEAD`) and on disk. `file` is absolute and may no
 * longer exist; throws {@link WorkspaceGitError} when it is not inside a repository.
 */
export async function readGitDiff(file: string, revision = 'HEAD'): Promise<GitDiff> {
  const { root, pathInRepository } = await locateInRepository(file);
  const original = await git(root, ['show', `${revision}:${pathInRepository}`]);
  const modified = await readFile(file, 'utf8').catch((error: unknown) => {
    const code = systemErrorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  });
  return { original: original.ok ? original.stdout.toString('utf8') : null, modified };
}

/** `directory` or its nearest ancestor that exists. */
export async function existingAncestor(directory: string): Promise<string> {
  for (let current = directory; ; current = dirname(current)) {
    const exists = await stat(current).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (exists || dirname(current) === current) return current;
  }
}
