import { GitRevisionError, WorkspaceGitError } from '@ferry/sdk-core';
import type { GitChange, GitCommit, GitCommitsPage, GitDiff } from '@ferry/sdk-core';
import { locateInRepository, readGitDiff } from './local-git';
import type { GitHost } from './local-git';

/** One line per commit, fields split by the unit separator, which no field can contain. */
const LOG_FORMAT = '%H%x1f%h%x1f%an%x1f%aI%x1f%s';

/**
 * The full id of the commit `revision` names in the repository at `directory`. A revision that
 * starts with `-` (an option to git) or names no commit throws {@link GitRevisionError}.
 */
export async function resolveCommit(
  host: GitHost,
  directory: string,
  revision: string,
): Promise<string> {
  if (revision === '' || revision.startsWith('-')) {
    throw new GitRevisionError(revision, 'a revision cannot be empty or start with "-".');
  }
  const result = await host.git(directory, [
    'rev-parse',
    '--verify',
    '--quiet',
    `${revision}^{commit}`,
  ]);
  if (!result.ok) throw new GitRevisionError(revision, 'no such commit in this repository.');
  return result.stdout.toString('utf8').trim();
}

/** The first parent of `sha`, or `undefined` for a root commit. */
async function parentOf(
  host: GitHost,
  directory: string,
  sha: string,
): Promise<string | undefined> {
  const result = await host.git(directory, ['rev-parse', '--verify', '--quiet', `${sha}^`]);
  return result.ok ? result.stdout.toString('utf8').trim() : undefined;
}

/** The id of the empty tree in this repository's hash, what a root commit is compared with. */
async function emptyTree(host: GitHost, directory: string): Promise<string> {
  const result = await host.git(directory, ['hash-object', '-t', 'tree', '/dev/null']);
  if (!result.ok) throw new WorkspaceGitError(directory, result.stderr);
  return result.stdout.toString('utf8').trim();
}

/**
 * Files under `directory` that differ between the commit `sha` and the working tree (untracked
 * files are `ADDED`), with paths relative to `directory`.
 */
export async function changesSinceCommit(
  host: GitHost,
  directory: string,
  sha: string,
): Promise<GitChange[]> {
  const diff = await host.git(directory, [
    'diff',
    '--name-status',
    '-z',
    '--find-renames',
    '--relative',
    sha,
    '--',
    '.',
  ]);
  if (!diff.ok) throw new WorkspaceGitError(directory, diff.stderr);
  const changes = parseNameStatus(diff.stdout.toString('utf8'), true);
  const untracked = await host.git(directory, ['ls-files', '--others', '--exclude-standard', '-z']);
  if (!untracked.ok) throw new WorkspaceGitError(directory, untracked.stderr);
  for (const path of untracked.stdout.toString('utf8').split('\0')) {
    if (path !== '') changes.push({ status: 'ADDED', path });
  }
  return sortByPath(changes);
}

/**
 * The files the commit `sha` changed against its first parent, with paths relative to the
 * repository root. A rename is a `DELETED` old path and an `ADDED` new one, as OpenHands
 * reports it.
 */
export async function commitChanges(
  host: GitHost,
  directory: string,
  revision: string,
): Promise<GitChange[]> {
  const sha = await resolveCommit(host, directory, revision);
  const parent = (await parentOf(host, directory, sha)) ?? (await emptyTree(host, directory));
  const diff = await host.git(directory, [
    'diff',
    '--name-status',
    '-z',
    '--no-renames',
    parent,
    sha,
  ]);
  if (!diff.ok) throw new WorkspaceGitError(directory, diff.stderr);
  return sortByPath(parseNameStatus(diff.stdout.toString('utf8'), false));
}

/** The newest `limit` commits reachable from `HEAD`, newest first; empty before the first commit. */
export async function listCommits(
  host: GitHost,
  directory: string,
  limit: number,
): Promise<GitCommitsPage> {
  const head = await host.git(directory, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (!head.ok) return { commits: [], has_more: false };
  const log = await host.git(directory, [
    '--no-pager',
    'log',
    '--no-show-signature',
    `--format=${LOG_FORMAT}`,
    '-n',
    String(limit + 1),
    head.stdout.toString('utf8').trim(),
  ]);
  if (!log.ok) throw new WorkspaceGitError(directory, log.stderr);
  const commits: GitCommit[] = [];
  for (const line of log.stdout.toString('utf8').split('\n')) {
    const fields = line.split('\x1f');
    if (fields.length !== 5) continue;
    const [sha = '', shortSha = '', author = '', timestamp = '', subject = ''] = fields;
    commits.push({ sha, short_sha: shortSha, subject, author, timestamp });
  }
  return { commits: commits.slice(0, limit), has_more: commits.length > limit };
}

/**
 * `file` (absolute, inside a repository) at the commit `revision` and on disk; `null` for a
 * side where the file does not exist.
 */
export async function diffSinceCommit(
  host: GitHost,
  file: string,
  revision: string,
): Promise<GitDiff> {
  const { root } = await locateInRepository(host, file);
  return readGitDiff(host, file, await resolveCommit(host, root, revision));
}

/**
 * The change the commit `revision` made to `file`, read from git objects only: `original` at
 * its first parent, `modified` at the commit; `null` for a side where the file does not exist.
 */
export async function diffOfCommit(
  host: GitHost,
  file: string,
  revision: string,
): Promise<GitDiff> {
  const { root, pathInRepository } = await locateInRepository(host, file);
  const sha = await resolveCommit(host, root, revision);
  const parent = await parentOf(host, root, sha);
  return {
    original: parent === undefined ? null : await showAt(host, root, parent, pathInRepository),
    modified: await showAt(host, root, sha, pathInRepository),
  };
}

async function showAt(
  host: GitHost,
  root: string,
  revision: string,
  path: string,
): Promise<string | null> {
  const result = await host.git(root, ['show', `${revision}:${path}`]);
  return result.ok ? result.stdout.toString('utf8') : null;
}

/** Parses `git diff --name-status -z`: a status field, then one path (two for R and C). */
function parseNameStatus(output: string, renames: boolean): GitChange[] {
  const fields = output.split('\0');
  const changes: GitChange[] = [];
  for (let index = 0; index < fields.length; index++) {
    const code = fields[index] ?? '';
    if (code === '') continue;
    const letter = code[0];
    if (letter === 'R' || letter === 'C') {
      const from = fields[++index] ?? '';
      const to = fields[++index] ?? '';
      if (letter === 'R' && renames) changes.push({ status: 'MOVED', path: to });
      else if (letter === 'R')
        changes.push({ status: 'DELETED', path: from }, { status: 'ADDED', path: to });
      else changes.push({ status: 'ADDED', path: to });
      continue;
    }
    const path = fields[++index] ?? '';
    const status = letter === 'A' ? 'ADDED' : letter === 'D' ? 'DELETED' : 'UPDATED';
    changes.push({ status, path });
  }
  return changes;
}

function sortByPath(changes: GitChange[]): GitChange[] {
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
