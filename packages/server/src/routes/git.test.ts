import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import type { FastifyInstance } from 'fastify';
import { execFile } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitRoutes } from './git';
import { createRoutesApp } from './workspace-test-app';

const run = promisify(execFile);

let root: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;
let repository: string;

async function git(cwd: string, ...args: string[]): Promise<void> {
  await run('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd });
}

/** A repository with `kept.txt`, `changed.txt` and `deleted.txt` committed, then edited. */
async function createRepository(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  await git(directory, 'init', '-q');
  await writeFile(join(directory, 'kept.txt'), 'kept\n');
  await writeFile(join(directory, 'changed.txt'), 'before\n');
  await writeFile(join(directory, 'deleted.txt'), 'gone soon\n');
  await git(directory, 'add', '.');
  await git(directory, 'commit', '-q', '-m', 'start');
  await writeFile(join(directory, 'changed.txt'), 'after\n');
  await rm(join(directory, 'deleted.txt'));
  await mkdir(join(directory, 'src'));
  await writeFile(join(directory, 'src', 'added.txt'), 'new\n');
}

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  repository = join(root.path, 'repo');
  await createRepository(repository);
  app = await createRoutesApp({ workspaceRoot: root.path }, gitRoutes);
});

afterEach(async () => {
  await app.close();
  await root.remove();
  await outside.remove();
});

function get(route: string, query: Record<string, string>) {
  return app.inject({ method: 'GET', url: `/api/git/${route}`, query });
}

const expectedChanges = [
  { status: 'UPDATED', path: 'changed.txt' },
  { status: 'DELETED', path: 'deleted.txt' },
  { status: 'ADDED', path: 'src/added.txt' },
];

describe('GET /api/git/changes', () => {
  it('lists the files that differ from HEAD, for a relative or an absolute path', async () => {
    for (const path of ['repo', repository]) {
      const response = await get('changes', { path });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(expectedChanges);
    }
    expect((await get('changes', { path: 'repo', ref: 'HEAD' })).json()).toEqual(expectedChanges);
  });

  it('lists the repositories inside a folder that is not one, and nothing for a plain folder', async () => {
    expect((await get('changes', { path: '.' })).json()).toEqual(
      expectedChanges.map((change) => ({ ...change, path: `repo/${change.path}` })),
    );
    await mkdir(join(root.path, 'plain'));
    expect((await get('changes', { path: 'plain' })).json()).toEqual([]);
  });

  it('refuses a path outside the workspace with 403', async () => {
    await createRepository(join(outside.path, 'other'));
    await symlink(outside.path, join(root.path, 'escape'));
    for (const path of ['..', join(outside.path, 'other'), 'escape/other']) {
      const response = await get('changes', { path });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    }
  });

  it('compares with another ref: a branch, a tag or a commit; a ref naming nothing is 400', async () => {
    await git(repository, 'tag', 'start');
    await git(repository, 'add', '-A');
    await git(repository, 'commit', '-q', '-m', 'second');
    await writeFile(join(repository, 'later.txt'), 'later\n');
    expect((await get('changes', { path: 'repo', ref: 'HEAD' })).json()).toEqual([
      { status: 'ADDED', path: 'later.txt' },
    ]);
    const sinceStart = [...expectedChanges, { status: 'ADDED', path: 'later.txt' }].sort((a, b) =>
      a.path.localeCompare(b.path),
    );
    expect((await get('changes', { path: 'repo', ref: 'start' })).json()).toEqual(sinceStart);
    expect((await get('changes', { path: 'repo', ref: 'HEAD~1' })).json()).toEqual(sinceStart);
    for (const ref of ['no-such-branch', '--output=/tmp/x']) {
      const response = await get('changes', { path: 'repo', ref });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'GIT_REVISION_NOT_FOUND' });
    }
    const missing = await get('changes', {});
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('GET /api/git/diff', () => {
  it('answers the text at HEAD and on disk', async () => {
    expect((await get('diff', { path: 'repo/changed.txt' })).json()).toEqual({
      original: 'before\n',
      modified: 'after\n',
    });
    expect((await get('diff', { path: join(repository, 'src/added.txt') })).json()).toEqual({
      original: null,
      modified: 'new\n',
    });
    expect((await get('diff', { path: 'repo/deleted.txt', ref: 'HEAD' })).json()).toEqual({
      original: 'gone soon\n',
      modified: null,
    });
  });

  it('answers an empty diff outside a repository, as OpenHands, and 403 outside the workspace', async () => {
    await writeFile(join(root.path, 'loose.txt'), 'loose');
    const loose = await get('diff', { path: 'loose.txt' });
    expect(loose.statusCode).toBe(200);
    expect(loose.json()).toEqual({ original: null, modified: null });
    expect(loose.headers['x-ferry-git-repository']).toBe('not-a-repository');
    await createRepository(join(outside.path, 'other'));
    const escaped = await get('diff', { path: join(outside.path, 'other', 'changed.txt') });
    expect(escaped.statusCode).toBe(403);
    expect(escaped.body).not.toContain('before');
  });

  it('compares with a ref, or shows what one commit changed', async () => {
    await git(repository, 'add', '-A');
    await git(repository, 'commit', '-q', '-m', 'second');
    await writeFile(join(repository, 'changed.txt'), 'third\n');
    expect((await get('diff', { path: 'repo/changed.txt', ref: 'HEAD~1' })).json()).toEqual({
      original: 'before\n',
      modified: 'third\n',
    });
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: repository });
    const sha = stdout.trim();
    expect((await get('diff', { path: 'repo/changed.txt', commit: sha })).json()).toEqual({
      original: 'before\n',
      modified: 'after\n',
    });
    expect(
      (await get('diff', { path: 'repo/deleted.txt', commit: sha.slice(0, 7) })).json(),
    ).toEqual({ original: 'gone soon\n', modified: null });
  });

  it('refuses ref with commit (400), a commit that is not hex (422) or unknown (400)', async () => {
    const both = await get('diff', { path: 'repo/changed.txt', ref: 'HEAD', commit: 'abc123' });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ code: 'GIT_REF_WITH_COMMIT' });
    const notHex = await get('diff', { path: 'repo/changed.txt', commit: '--all' });
    expect(notHex.statusCode).toBe(422);
    const unknown = await get('diff', { path: 'repo/changed.txt', commit: 'abcdef1234' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'GIT_REVISION_NOT_FOUND' });
  });
});

describe('GET /api/git/commits and /api/git/commits/{sha}/changes', () => {
  it('lists the newest commits first, a page at a time, and what each one changed', async () => {
    await git(repository, 'add', '-A');
    await git(repository, 'commit', '-q', '-m', 'second');
    await git(repository, 'mv', 'kept.txt', 'moved.txt');
    await git(repository, 'commit', '-q', '-m', 'rename');
    const page = await get('commits', { path: 'repo', limit: '2' });
    expect(page.statusCode).toBe(200);
    const body = page.json<{ commits: Record<string, string>[]; has_more: boolean }>();
    expect(body.has_more).toBe(true);
    expect(body.commits.map((commit) => commit.subject)).toEqual(['rename', 'second']);
    const [newest] = body.commits;
    expect(Object.keys(newest ?? {}).sort()).toEqual([
      'author',
      'sha',
      'short_sha',
      'subject',
      'timestamp',
    ]);
    expect(newest?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(newest?.sha?.startsWith(newest.short_sha ?? '-')).toBe(true);
    expect(newest).toMatchObject({ subject: 'rename', author: 't' });
    expect(newest?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$/);
    const all = (await get('commits', { path: 'repo' })).json<typeof body>();
    expect(all.has_more).toBe(false);
    expect(all.commits).toHaveLength(3);

    const renamed = await get(`commits/${newest?.sha ?? ''}/changes`, { path: 'repo' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toEqual([
      { status: 'DELETED', path: 'kept.txt' },
      { status: 'ADDED', path: 'moved.txt' },
    ]);
    const second = all.commits[1]?.short_sha ?? '';
    expect((await get(`commits/${second}/changes`, { path: 'repo' })).json()).toEqual(
      expectedChanges,
    );
    const root = all.commits[2]?.sha ?? '';
    expect((await get(`commits/${root}/changes`, { path: repository })).json()).toEqual([
      { status: 'ADDED', path: 'changed.txt' },
      { status: 'ADDED', path: 'deleted.txt' },
      { status: 'ADDED', path: 'kept.txt' },
    ]);
  });

  it('answers empty outside a repository and before the first commit, 400/422 for bad ids', async () => {
    await mkdir(join(root.path, 'plain'));
    expect((await get('commits', { path: 'plain' })).json()).toEqual({
      commits: [],
      has_more: false,
    });
    expect((await get('commits/abcdef12/changes', { path: 'plain' })).json()).toEqual([]);
    const fresh = join(root.path, 'fresh');
    await mkdir(fresh);
    await git(fresh, 'init', '-q');
    expect((await get('commits', { path: 'fresh' })).json()).toEqual({
      commits: [],
      has_more: false,
    });
    const unknown = await get('commits/abcdef12/changes', { path: 'repo' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'GIT_REVISION_NOT_FOUND' });
    expect((await get('commits/HEAD/changes', { path: 'repo' })).statusCode).toBe(422);
    expect((await get('commits', { path: 'repo', limit: '0' })).statusCode).toBe(422);
    expect((await get('commits', { path: 'repo', limit: '201' })).statusCode).toBe(422);
    expect((await get('commits', { path: join(outside.path) })).statusCode).toBe(403);
  });
});
