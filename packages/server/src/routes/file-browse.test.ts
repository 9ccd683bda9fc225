import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import type { FastifyInstance } from 'fastify';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileBrowseRoutes } from './file-browse';
import { createRoutesApp } from './workspace-test-app';

const run = promisify(execFile);

let root: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  app = await createRoutesApp({ workspaceRoot: root.path }, fileBrowseRoutes);
});

afterEach(async () => {
  await app.close();
  await root.remove();
  await outside.remove();
});

function request(method: 'GET' | 'POST', url: string, query: Record<string, string | string[]>) {
  return app.inject({ method, url, query });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], {
    cwd,
  });
  return stdout;
}

describe('GET /api/file/home and /api/file/search_subdirs', () => {
  it('starts at the workspace root and lists its folders, sorted, a page at a time', async () => {
    for (const name of ['beta', 'Alpha', 'gamma', '.hidden']) await mkdir(join(root.path, name));
    await writeFile(join(root.path, 'file.txt'), 'x');
    await symlink(outside.path, join(root.path, 'link'));
    const home = await request('GET', '/api/file/home', {});
    expect(home.statusCode).toBe(200);
    expect(home.json()).toEqual({
      home: root.path,
      favorites: ['Alpha', 'beta', 'gamma'].map((label) => ({
        label,
        path: join(root.path, label),
      })),
      locations: [{ label: root.path.split('/').at(-1), path: root.path }],
    });
    const hidden = await request('GET', '/api/file/home', { include_hidden: 'true' });
    expect(hidden.json<{ favorites: unknown[] }>().favorites).toHaveLength(4);

    const first = await request('GET', '/api/file/search_subdirs', { path: root.path, limit: '2' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      items: [
        { name: 'Alpha', path: join(root.path, 'Alpha') },
        { name: 'beta', path: join(root.path, 'beta') },
      ],
      next_page_id: 'gamma',
    });
    const next = await request('GET', '/api/file/search_subdirs', {
      path: '.',
      limit: '2',
      page_id: 'gamma',
    });
    expect(next.json()).toEqual({
      items: [{ name: 'gamma', path: join(root.path, 'gamma') }],
      next_page_id: null,
    });
  });

  it('answers 404 for a missing folder, 400 for a file, 403 outside the root, 422 for a bad limit', async () => {
    await writeFile(join(root.path, 'file.txt'), 'x');
    const cases: [Record<string, string>, number][] = [
      [{ path: 'missing' }, 404],
      [{ path: 'file.txt' }, 400],
      [{ path: outside.path }, 403],
      [{ path: '..' }, 403],
      [{ path: '.', limit: '0' }, 422],
      [{ path: '.', limit: '101' }, 422],
    ];
    for (const [query, status] of cases) {
      expect((await request('GET', '/api/file/search_subdirs', query)).statusCode).toBe(status);
    }
  });
});

describe('POST /api/file/create_directory', () => {
  it('creates a folder with its parents, idempotently; a file in the way is 400, outside 403', async () => {
    const created = await request('POST', '/api/file/create_directory', { path: 'a/b/c' });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toEqual({ success: true });
    expect(await readdir(join(root.path, 'a/b'))).toEqual(['c']);
    await writeFile(join(root.path, 'a/b/c/keep.txt'), 'kept');
    const again = await request('POST', '/api/file/create_directory', {
      path: join(root.path, 'a/b/c'),
    });
    expect(again.statusCode).toBe(200);
    expect(await readFile(join(root.path, 'a/b/c/keep.txt'), 'utf8')).toBe('kept');
    expect(
      (await request('POST', '/api/file/create_directory', { path: 'a/b/c/keep.txt' })).statusCode,
    ).toBe(400);
    expect(
      (await request('POST', '/api/file/create_directory', { path: 'a/b/c/keep.txt/under' }))
        .statusCode,
    ).toBe(400);
    const escaped = await request('POST', '/api/file/create_directory', {
      path: join(outside.path, 'x'),
    });
    expect(escaped.statusCode).toBe(403);
    expect(await readdir(outside.path)).toEqual([]);
  });
});

describe('GET /api/file/archive', () => {
  it('archives a folder as tar.gz, without default excludes or credentials inside .git', async () => {
    const project = join(root.path, 'project');
    await mkdir(join(project, 'src'), { recursive: true });
    await mkdir(join(project, 'node_modules/dep'), { recursive: true });
    await writeFile(join(project, 'src/main.ts'), 'main');
    await writeFile(join(project, 'node_modules/dep/index.js'), 'dep');
    await writeFile(join(project, 'notes.log'), 'log');
    await git(project, 'init', '-q');
    await git(project, 'remote', 'add', 'origin', 'https://user:tok-secret@example.com/r.git');
    const response = await request('GET', '/api/file/archive', {
      path: 'project',
      format: 'tar.gz',
      exclude: ['*.log'],
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/gzip');
    expect(response.headers['content-disposition']).toContain('project.tar.gz');
    expect(response.headers['x-archive-repo-remote']).toBe(
      encodeURIComponent('https://example.com/r.git'),
    );
    const tarball = join(outside.path, 'a.tar.gz');
    await writeFile(tarball, response.rawPayload);
    const listing = (await run('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(listing).toContain('project/src/main.ts');
    expect(listing.some((entry) => entry.includes('node_modules'))).toBe(false);
    expect(listing.some((entry) => entry.endsWith('.log'))).toBe(false);
    expect(listing.some((entry) => entry.startsWith('project/.git'))).toBe(false);
    const full = await request('GET', '/api/file/archive', {
      path: 'project',
      format: 'tar.gz',
      use_default_excludes: 'false',
    });
    await writeFile(tarball, full.rawPayload);
    const fullListing = (await run('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(fullListing).toContain('project/node_modules/dep/index.js');
    expect(fullListing).toContain('project/.git/HEAD');
    expect(fullListing).not.toContain('project/.git/config');
    expect(full.rawPayload.includes(Buffer.from('tok-secret'))).toBe(false);
  });

  it('archives a repository as a git patch that applies to its base', async () => {
    const repository = join(root.path, 'repo');
    await mkdir(repository);
    await git(repository, 'init', '-q');
    await writeFile(join(repository, 'a.txt'), 'one\n');
    await git(repository, 'add', '.');
    await git(repository, 'commit', '-q', '-m', 'one');
    const head = (await git(repository, 'rev-parse', 'HEAD')).trim();
    await writeFile(join(repository, 'a.txt'), 'two\n');
    await writeFile(join(repository, 'new.txt'), 'new\n');
    const response = await request('GET', '/api/file/archive', { path: 'repo' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/x-patch');
    expect(response.headers['x-archive-base-commit']).toBe(head);
    expect(response.headers['x-archive-base-ref']).toBe('auto');
    expect(response.body).toContain('+two');
    expect(response.body).toContain('new.txt');
    // The repository's own index is untouched: new.txt is still untracked.
    expect(await git(repository, 'status', '--porcelain')).toContain('?? new.txt');

    const copy = join(outside.path, 'copy');
    await run('git', ['clone', '-q', repository, copy]);
    await writeFile(join(outside.path, 'delta.patch'), response.body);
    await git(copy, 'apply', join(outside.path, 'delta.patch'));
    expect(await readFile(join(copy, 'a.txt'), 'utf8')).toBe('two\n');
    expect(await readFile(join(copy, 'new.txt'), 'utf8')).toBe('new\n');
  });

  it('answers 400 for git-delta outside a repository or with an unknown base, 404 and 403', async () => {
    await mkdir(join(root.path, 'plain'));
    const plain = await request('GET', '/api/file/archive', { path: 'plain' });
    expect(plain.statusCode).toBe(400);
    expect(plain.json()).toMatchObject({ code: 'NOT_A_GIT_REPOSITORY' });
    const repository = join(root.path, 'repo');
    await mkdir(repository);
    await git(repository, 'init', '-q');
    for (const base_ref of ['no-such', '-x']) {
      const response = await request('GET', '/api/file/archive', { path: 'repo', base_ref });
      expect(response.statusCode).toBe(400);
    }
    expect((await request('GET', '/api/file/archive', { path: 'missing' })).statusCode).toBe(404);
    expect((await request('GET', '/api/file/archive', { path: outside.path })).statusCode).toBe(
      403,
    );
    expect(
      (await request('GET', '/api/file/archive', { path: 'plain', format: 'zip' })).statusCode,
    ).toBe(422);
  });
});
