import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BundleTooLargeError } from '../errors/bundle-too-large-error';
import { FerryError } from '../errors/ferry-error';
import { WorkspaceGitError } from '../errors/workspace-git-error';
import { hasErrorCode } from '../persistence/system-error';
import { WORKSPACE_PREFIX } from './bundle-manifest';
import { bundlePathProblem } from './bundle-path';

const run = promisify(execFile);

/** Folders never carried when the workspace is not a git repository. */
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

/** A workspace file to put in a bundle, hashed. */
export interface WorkspaceFile {
  /** Relative to the workspace, `/`-separated. */
  path: string;
  absolute: string;
  size: number;
  sha256: string;
  executable: boolean;
}

/**
 * The regular files of a workspace folder, sorted by path, with their size and SHA-256.
 *
 * In a git repository these are the files git would not ignore (tracked and untracked, honouring
 * `.gitignore`); elsewhere every file but those under `.git/` and `node_modules/`. Symbolic links
 * and other special files are left out: a bundle carries only regular files. More than
 * `maxBytes` in total is `BundleTooLargeError`, before any file is read.
 */
export async function listWorkspaceFiles(options: {
  dir: string;
  maxBytes: number;
}): Promise<WorkspaceFile[]> {
  const { dir, maxBytes } = options;
  const folder = await stat(dir).catch((error: unknown) => {
    if (hasErrorCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  });
  if (folder?.isDirectory() !== true) {
    throw new FerryError(
      'WORKSPACE_NOT_FOUND',
      `The workspace folder "${dir}" to put in the bundle does not exist or is not a folder.`,
    );
  }
  const candidates = (await gitVisibleFiles(dir)) ?? (await walk(dir));
  const found: { path: string; absolute: string; size: number; executable: boolean }[] = [];
  let total = 0;
  for (const path of [...new Set(candidates)].sort()) {
    const absolute = join(dir, ...path.split('/'));
    let stats;
    try {
      stats = await lstat(absolute);
    } catch (error) {
      // git lists tracked files that were deleted from the working tree.
      if (hasErrorCode(error, 'ENOENT', 'ENOTDIR')) continue;
      throw error;
    }
    if (!stats.isFile()) continue;
    const problem = bundlePathProblem(`${WORKSPACE_PREFIX}${path}`);
    if (problem !== undefined) {
      throw new FerryError(
        'BUNDLE_UNSUPPORTED_PATH',
        `The workspace file "${path}" cannot go in a bundle: it ${problem}. Rename it or ignore it in .gitignore.`,
      );
    }
    total += stats.size;
    found.push({ path, absolute, size: stats.size, executable: (stats.mode & 0o111) !== 0 });
  }
  if (total > maxBytes) {
    throw new BundleTooLargeError({
      subject: `workspace "${dir}"`,
      size: total,
      limit: maxBytes,
      option: 'maxWorkspaceBytes',
    });
  }
  const files: WorkspaceFile[] = [];
  for (const file of found) {
    const { sha256, size } = await hashFile(file.absolute);
    files.push({ ...file, size, sha256 });
  }
  return files;
}

/** The SHA-256 (hex) and length of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Paths git does not ignore under `dir`, or `undefined` when `dir` is not in a git work tree. */
async function gitVisibleFiles(dir: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--is-inside-work-tree'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (stdout.trim() !== 'true') return undefined;
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) {
      // No git installed: a repository's .gitignore cannot be honoured, so do not guess.
      if (await exists(join(dir, '.git'))) {
        throw new WorkspaceGitError(dir, 'git is not installed, so .gitignore cannot be applied');
      }
      return undefined;
    }
    const stderr = stderrOf(error);
    if (/not a git repository/i.test(stderr)) return undefined;
    // Say "dubious ownership": walking instead would carry the files .gitignore hides.
    throw new WorkspaceGitError(dir, stderr.trim() || String(error), { cause: error });
  }
  try {
    const { stdout } = await run(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
      { cwd: dir, encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
    );
    return stdout
      .toString('utf8')
      .split('\0')
      .filter((path) => path !== '' && !path.endsWith('/'));
  } catch (error) {
    throw new WorkspaceGitError(dir, stderrOf(error).trim() || String(error), { cause: error });
  }
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) paths.push(...(await walk(dir, `${path}/`)));
    } else if (entry.isFile()) {
      paths.push(path);
    }
  }
  return paths;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function stderrOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'stderr' in error) {
    const { stderr } = error;
    if (typeof stderr === 'string') return stderr;
    if (Buffer.isBuffer(stderr)) return stderr.toString('utf8');
  }
  return '';
}
