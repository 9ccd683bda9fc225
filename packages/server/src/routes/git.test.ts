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

function get(route: 'changes' | 'diff', query: Record<string, string>) {
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

  it('refuses a ref other than HEAD, and a missing path', async () => {
    const response = await get('changes', { path: 'repo', ref: 'main' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'GIT_OPTION_NOT_SUPPORTED' });
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

  it('answers 422 outside a repository and 403 outside the workspace', async () => {
    await writeFile(join(root.path, 'loose.txt'), 'loose');
    const loose = await get('diff', { path: 'loose.txt' });
    expect(loose.statusCode).toBe(422);
    expect(loose.json()).toMatchObject({ code: 'WORKSPACE_GIT_ERROR' });
    await createRepository(join(outside.path, 'other'));
    const escaped = await get('diff', { path: join(outside.path, 'other', 'changed.txt') });
    expect(escaped.statusCode).toBe(403);
    expect(escaped.body).not.toContain('before');
  });

  it('refuses the commit option and a ref other than HEAD', async () => {
    const refused: Record<string, string>[] = [{ commit: 'abc123' }, { ref: 'origin/main' }];
    for (const query of refused) {
      const response = await get('diff', { path: 'repo/changed.txt', ...query });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'GIT_OPTION_NOT_SUPPORTED' });
    }
  });
});
