import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileRoutes } from './file';
import { createRoutesApp } from './workspace-test-app';

let root: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;
let url: string;

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  app = await createRoutesApp(
    { workspaceRoot: root.path, maxUploadBytes: 4 * 1024 * 1024 },
    fileRoutes,
  );
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await app.close();
  await root.remove();
  await outside.remove();
});

function upload(path: string, content: Uint8Array | string, field = 'file'): Promise<Response> {
  const form = new FormData();
  form.append(field, new Blob([content]), 'upload.bin');
  const target = new URL('/api/file/upload', url);
  target.searchParams.set('path', path);
  return fetch(target, { method: 'POST', body: form });
}

function download(path: string): Promise<Response> {
  const target = new URL('/api/file/download', url);
  target.searchParams.set('path', path);
  return fetch(target);
}

describe('POST /api/file/upload and GET /api/file/download', () => {
  it('round-trips every byte value and a large random file, creating parent folders', async () => {
    const everyByte = Uint8Array.from({ length: 256 * 4 }, (_, index) => index % 256);
    const large = new Uint8Array(randomBytes(3 * 1024 * 1024));
    for (const [path, bytes] of [
      ['nested/deeper/every-byte.bin', everyByte],
      [join(root.path, 'large.bin'), large],
    ] as const) {
      const uploaded = await upload(path, bytes);
      expect(uploaded.status).toBe(200);
      expect(await uploaded.json()).toEqual({ success: true });
      const onDisk = await readFile(path.startsWith('/') ? path : join(root.path, path));
      // Buffer.equals: a deep toEqual over megabytes takes far too long.
      expect(onDisk.equals(bytes)).toBe(true);

      const downloaded = await download(path);
      expect(downloaded.status).toBe(200);
      expect(downloaded.headers.get('content-type')).toBe('application/octet-stream');
      expect(Buffer.from(await downloaded.arrayBuffer()).equals(bytes)).toBe(true);
    }
  });

  it('replaces an existing file and names the download', async () => {
    await writeFile(join(root.path, 'notes é.txt'), 'old');
    expect((await upload('notes é.txt', 'new')).status).toBe(200);
    expect(await readFile(join(root.path, 'notes é.txt'), 'utf8')).toBe('new');
    const downloaded = await download('notes é.txt');
    expect(downloaded.headers.get('content-disposition')).toBe(
      `attachment; filename="notes _.txt"; filename*=UTF-8''notes%20%C3%A9.txt`,
    );
    expect(await downloaded.text()).toBe('new');
  });

  it('refuses paths that leave the workspace with 403, touching nothing', async () => {
    await writeFile(join(outside.path, 'secret.txt'), 'secret');
    await symlink(outside.path, join(root.path, 'escape'));
    await symlink(join(outside.path, 'secret.txt'), join(root.path, 'secret-link'));
    const escapes = [
      '../escaped.txt',
      `${root.path}/../escaped.txt`,
      join(outside.path, 'escaped.txt'),
      'escape/escaped.txt',
      'secret-link',
    ];
    for (const path of escapes) {
      const uploaded = await upload(path, 'overwritten');
      expect(uploaded.status).toBe(403);
      const body = (await uploaded.json()) as { code: string; detail: string };
      expect(body.code).toBe('PATH_OUTSIDE_WORKSPACE');
      expect(body.detail).toContain(path);
    }
    for (const path of [
      '../secret.txt',
      join(outside.path, 'secret.txt'),
      'escape/secret.txt',
      'secret-link',
    ]) {
      const downloaded = await download(path);
      expect(downloaded.status).toBe(403);
      expect(await downloaded.text()).not.toContain('"secret"');
    }
    expect(await readdir(outside.path)).toEqual(['secret.txt']);
    expect(await readFile(join(outside.path, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('answers 404 for a missing file and 400 for a folder', async () => {
    const missing = await download('missing.txt');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'WORKSPACE_FILE_ERROR' });
    await mkdir(join(root.path, 'folder'));
    const folder = await download('folder');
    expect(folder.status).toBe(400);
    expect(await folder.json()).toMatchObject({ code: 'WORKSPACE_FILE_ERROR' });
    expect((await upload('folder', 'data')).status).toBe(400);
  });

  it('refuses an upload past the size limit with 413 and keeps the old file', async () => {
    await writeFile(join(root.path, 'kept.txt'), 'original');
    const uploaded = await upload('kept.txt', new Uint8Array(5 * 1024 * 1024));
    expect(uploaded.status).toBe(413);
    expect(await readFile(join(root.path, 'kept.txt'), 'utf8')).toBe('original');
  });

  it('refuses an upload without a file field, and a request without a path', async () => {
    const wrongField = await upload('new.txt', 'data', 'document');
    expect(wrongField.status).toBe(400);
    expect(await wrongField.json()).toMatchObject({ code: 'UPLOAD_FILE_MISSING' });
    const withoutPath = await fetch(new URL('/api/file/download', url));
    expect(withoutPath.status).toBe(422);
    expect(await withoutPath.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(await readdir(root.path)).toEqual([]);
  });
});
