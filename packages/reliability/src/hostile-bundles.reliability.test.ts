import { randomUUID } from 'node:crypto';
import { access, mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { apiRequest, diskState, errorCode, httpRequest, type HttpAnswer } from './hostile-client';
import {
  TAR_TYPES,
  manifestOf,
  packBundle,
  paxRecords,
  tarBytes,
  unpackBundle,
  withManifest,
  type RawTarEntry,
} from './hostile-tar';

const API_KEY = `hostile-bundles-${randomUUID()}`;
/** Small enough that the bombs below hit it in well under a second. */
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
const PLANTED = 'planted by a hostile bundle';

let dir: TemporaryDirectory;
let server: FerryServer;
/** A real bundle of a conversation that is not on the server (it was exported, then deleted). */
let base: { id: string; bundle: Buffer; entries: RawTarEntry[]; eventCount: number };
let inputsTried = 0;
let validImports = 0;

const roots = () => ['data', 'workspaces', 'outside'].map((folder) => join(dir.path, folder));

function api(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return apiRequest(server.url, API_KEY, method, path, body);
}

function importBundle(bundle: Buffer, query = ''): Promise<HttpAnswer> {
  inputsTried += 1;
  return httpRequest(server.url, {
    method: 'POST',
    path: `/api/conversations/import${query}`,
    headers: { 'x-session-api-key': API_KEY, 'content-type': 'application/gzip' },
    body: bundle,
  });
}

/** A conversation with two messages, exported (with its workspace) as a bundle. */
async function exportedConversation(): Promise<{ id: string; bundle: Buffer }> {
  const created = await api('POST', '/api/conversations', {
    agent: { kind: 'Agent', llm: { model: 'hostile-bundles', api_key: 'sk-not-a-real-key' } },
    initial_message: { content: [{ type: 'text', text: 'Write the report.' }] },
  });
  expect(created.status, created.body.toString()).toBe(201);
  const id = (created.json as { id: string }).id;
  const message = await api('POST', `/api/conversations/${id}/events`, {
    content: [{ type: 'text', text: 'And mention the numbers.' }],
  });
  expect(message.status).toBe(200);
  const exported = await api('GET', `/api/conversations/${id}/export`);
  expect(exported.status).toBe(200);
  return { id, bundle: exported.body };
}

/** Imports the base bundle (a 201 with every event), then deletes it again. */
async function expectValidImportWorks(): Promise<void> {
  const answer = await importBundle(base.bundle);
  expect(answer.status, answer.body.toString()).toBe(201);
  const count = await api('GET', `/api/conversations/${base.id}/events/count`);
  expect(count.json).toBe(base.eventCount);
  expect((await api('DELETE', `/api/conversations/${base.id}`)).status).toBe(200);
  validImports += 1;
}

/**
 * Sends the bundle and checks the answer is the 4xx with `code`, that no file changed anywhere
 * (data dir, workspaces, the folder next to them), and that a valid import still works.
 */
async function expectRefused(bundle: Buffer, code: string, query = ''): Promise<HttpAnswer> {
  const before = await diskState(roots());
  const answer = await importBundle(bundle, query);
  expect(answer.status, answer.body.toString()).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.body.toString()).toBeLessThan(500);
  expect(errorCode(answer), answer.body.toString()).toBe(code);
  expect((answer.json as { detail?: unknown }).detail).toEqual(expect.any(String));
  expect(await diskState(roots())).toEqual(before);
  await expectValidImportWorks();
  return answer;
}

/** The base bundle plus `extra` entries, with a manifest listing only the base's files. */
function baseWith(extra: RawTarEntry[], position: 'end' | 'afterManifest' = 'end'): Buffer {
  const [manifest, ...rest] = base.entries;
  if (manifest === undefined) throw new Error('empty base bundle');
  return packBundle(
    position === 'end' ? [manifest, ...rest, ...extra] : [manifest, ...extra, ...rest],
  );
}

/** The base bundle with its manifest edited (files re-listed with their true checksums). */
function baseWithManifest(change: (manifest: Record<string, unknown>) => void): Buffer {
  return packBundle(withManifest(base.entries, change));
}

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  for (const folder of ['data', 'workspaces', 'outside']) await mkdir(join(dir.path, folder));
  await writeFile(join(dir.path, 'outside', 'secret.txt'), 'outside the workspace root\n');
  await mkdir(join(dir.path, 'workspaces', 'project'));
  await symlink(join(dir.path, 'outside'), join(dir.path, 'workspaces', 'project', 'escape'));
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
    apiKey: API_KEY,
    maxBundleBytes: MAX_BUNDLE_BYTES,
  });
  const { id, bundle } = await exportedConversation();
  expect((await api('DELETE', `/api/conversations/${id}`)).status).toBe(200);
  const entries = unpackBundle(bundle);
  expect(entries[0]?.path).toBe('manifest.json');
  base = { id, bundle, entries, eventCount: manifestOf(entries).event_count as number };
  expect(base.eventCount).toBeGreaterThanOrEqual(2);
});

afterAll(async () => {
  console.info(
    `hostile bundles: ${inputsTried} imports tried (${validImports} valid ones in between), ` +
      'every hostile one a 4xx with nothing written',
  );
  await server?.close();
  await dir?.[Symbol.asyncDispose]();
});

describe('hostile bundles: a typed 4xx, nothing written, and the server keeps importing', () => {
  it('the base bundle, rebuilt by hand, imports: the crafting itself is sound', async () => {
    const before = await diskState(roots());
    expect(before).not.toEqual({});
    const answer = await importBundle(packBundle(withManifest(base.entries)));
    expect(answer.status, answer.body.toString()).toBe(201);
    expect((await api('DELETE', `/api/conversations/${base.id}`)).status).toBe(200);
  });

  it.each([
    ['a "../" entry', '../../outside/planted.txt'],
    ['a "../" entry under workspace/', 'workspace/../../outside/planted.txt'],
    ['an absolute path', `/tmp/ferry-planted-${randomUUID()}.txt`],
    ['a Windows drive path', 'C:/ferry/planted.txt'],
    ['a backslash path', 'workspace\\..\\..\\planted.txt'],
  ])('%s', async (_name, path) => {
    const answer = await expectRefused(baseWith([{ path, data: PLANTED }]), 'BUNDLE_UNSAFE');
    expect(answer.status).toBe(422);
    if (path.startsWith('/')) await expect(access(path)).rejects.toThrow();
  });

  it('a pax header that turns a harmless name into "../"', async () => {
    const pax = paxRecords({ path: '../../outside/planted.txt' });
    await expectRefused(
      baseWith([
        { path: 'PaxHeader/innocent', type: TAR_TYPES.ExtendedHeader, data: pax },
        { path: 'innocent.txt', data: PLANTED },
      ]),
      'BUNDLE_UNSAFE',
    );
  });

  it('a GNU long name that is "../"', async () => {
    await expectRefused(
      baseWith([
        {
          path: '././@LongLink',
          type: TAR_TYPES.NextFileHasLongPath,
          data: `../../outside/${'x'.repeat(120)}\0`,
        },
        { path: 'innocent.txt', data: PLANTED },
      ]),
      'BUNDLE_UNSAFE',
    );
  });

  it.each([
    ['a symbolic link', { type: TAR_TYPES.SymbolicLink, linkpath: '../../outside' }],
    ['a hard link', { type: TAR_TYPES.Link, linkpath: '/etc/passwd' }],
    ['a character device', { type: TAR_TYPES.CharacterDevice }],
    ['a block device', { type: TAR_TYPES.BlockDevice }],
    ['a FIFO', { type: TAR_TYPES.FIFO }],
    ['an unknown entry type', { type: 'Z' }],
  ])('%s', async (_name, entry) => {
    await expectRefused(
      baseWith([{ path: 'workspace/escape', ...entry }, { path: 'workspace/escape/planted.txt' }]),
      'BUNDLE_UNSAFE',
    );
  });

  it('a workspace file written through a symlink already in the working folder', async () => {
    const entries = withManifest(
      [...base.entries, { path: 'workspace/escape/planted.txt', data: PLANTED }],
      (manifest) => {
        manifest.includes_workspace = true;
      },
    );
    await expectRefused(packBundle(entries), 'BUNDLE_UNSAFE', '?working_dir=project');
    await expect(access(join(dir.path, 'outside', 'planted.txt'))).rejects.toThrow();
  });

  it('a tar bomb: an entry declaring a terabyte', async () => {
    const answer = await expectRefused(
      baseWith([{ path: 'workspace/huge.bin', data: 'x', headerSize: 2 ** 40 }]),
      'BUNDLE_TOO_LARGE',
    );
    expect(answer.status).toBe(413);
  });

  it('a tar bomb: a listed file larger than the limit', async () => {
    const zeros = Buffer.alloc(MAX_BUNDLE_BYTES + 1024 * 1024);
    const entries = withManifest(
      [...base.entries, { path: 'workspace/zeros.bin', data: zeros }],
      (manifest) => {
        manifest.includes_workspace = true;
      },
    );
    await expectRefused(packBundle(entries), 'BUNDLE_TOO_LARGE');
  });

  it('a gzip bomb: a small upload that inflates past the limit', async () => {
    const tar = tarBytes(base.entries);
    const bomb = gzipSync(Buffer.concat([tar, Buffer.alloc(2 * MAX_BUNDLE_BYTES)]), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_BUNDLE_BYTES / 64);
    await expectRefused(bomb, 'BUNDLE_TOO_LARGE');
  });

  it('a tar bomb: more entries than any bundle needs', async () => {
    const folders = Array.from({ length: 100_001 }, (_, index) => ({
      path: `workspace/d${index}/`,
      type: TAR_TYPES.Directory,
    }));
    await expectRefused(baseWith(folders, 'afterManifest'), 'BUNDLE_UNSAFE');
  });

  it('a damaged tar header checksum', async () => {
    await expectRefused(
      baseWith([{ path: 'workspace/a.txt', data: 'a', checksumOffset: 7 }]),
      'BUNDLE_INVALID',
    );
  });

  it('a file whose bytes differ from its SHA-256 in the manifest', async () => {
    const entries = base.entries.map((entry) =>
      entry.path === 'base_state.json'
        ? {
            ...entry,
            data: Buffer.from(String(entry.data).replace('hostile-bundles', 'hostile-bundlez')),
          }
        : entry,
    );
    expect(entries).not.toEqual(base.entries);
    await expectRefused(packBundle(entries), 'BUNDLE_INVALID');
  });

  it('a file missing from the archive, and one not in the manifest', async () => {
    await expectRefused(
      packBundle(base.entries.filter((entry) => !entry.path.startsWith('events/'))),
      'BUNDLE_INVALID',
    );
    await expectRefused(baseWith([{ path: 'notes.txt', data: PLANTED }]), 'BUNDLE_INVALID');
  });

  it.each([
    ['a future version', (manifest: Record<string, unknown>) => (manifest.version = 3)],
    [
      'a delta (version 2) without its base',
      (manifest: Record<string, unknown>) => (manifest.version = 2),
    ],
    [
      'a version that is not a number',
      (manifest: Record<string, unknown>) => (manifest.version = '1'),
    ],
    ['another format', (manifest: Record<string, unknown>) => (manifest.format = 'zip')],
    ['a wrong event count', (manifest: Record<string, unknown>) => (manifest.event_count = 1000)],
    [
      "a conversation id that is not the state's",
      (manifest: Record<string, unknown>) => (manifest.conversation_id = randomUUID()),
    ],
    [
      'a conversation id that is a path',
      (manifest: Record<string, unknown>) => (manifest.conversation_id = '../../outside'),
    ],
  ])('%s', async (_name, change) => {
    await expectRefused(baseWithManifest(change), 'BUNDLE_INVALID');
  });

  it('a malformed manifest, a manifest that is not first, no manifest', async () => {
    const [, ...rest] = base.entries;
    await expectRefused(
      packBundle([
        { path: 'manifest.json', data: '{"format": "ferry-conversation-bundle", ' },
        ...rest,
      ]),
      'BUNDLE_INVALID',
    );
    await expectRefused(
      packBundle([{ path: 'manifest.json', data: '[]' }, ...rest]),
      'BUNDLE_INVALID',
    );
    await expectRefused(packBundle([...rest, ...base.entries.slice(0, 1)]), 'BUNDLE_INVALID');
    await expectRefused(packBundle(rest), 'BUNDLE_INVALID');
  });

  it('a truncated archive: cut gzip, and a tar cut inside an entry', async () => {
    await expectRefused(
      base.bundle.subarray(0, Math.floor(base.bundle.length / 2)),
      'BUNDLE_INVALID',
    );
    const tar = tarBytes(base.entries, { end: false });
    await expectRefused(gzipSync(tar.subarray(0, tar.length - 700)), 'BUNDLE_INVALID');
    await expectRefused(gzipSync(tar), 'BUNDLE_INVALID');
  });

  it('an upload cut off mid-stream, and one that stalls: nothing written, imports go on', async () => {
    // Bundles are imported as they arrive: the client going away part-way must leave nothing.
    const before = await diskState(roots());
    // An upload announcing the whole base bundle, of which only what is written arrives.
    const partialUpload = () =>
      request(`${server.url}/api/conversations/import`, {
        method: 'POST',
        headers: {
          'x-session-api-key': API_KEY,
          'content-type': 'application/gzip',
          'content-length': String(base.bundle.length),
        },
      });
    const cut = (bytes: number) =>
      new Promise<void>((resolve, reject) => {
        const upload = partialUpload();
        upload.on('error', () => resolve());
        upload.on('response', () => reject(new Error('answered an upload that was cut off')));
        upload.write(base.bundle.subarray(0, bytes), () => {
          setTimeout(() => {
            upload.destroy();
            resolve();
          }, 100);
        });
      });
    for (const bytes of [600, Math.floor(base.bundle.length / 2), base.bundle.length - 1]) {
      inputsTried += 1;
      await cut(bytes);
    }
    // A stalled upload (all but its end sent, the connection kept open) does not hold up another
    // import of the same conversation.
    const stalled = partialUpload();
    stalled.on('error', () => undefined);
    stalled.write(base.bundle.subarray(0, base.bundle.length - 40));
    // Time for the server to read its manifest and start importing it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      await expectValidImportWorks();
    } finally {
      stalled.destroy();
    }
    await vi.waitFor(async () => expect(await diskState(roots())).toEqual(before), {
      timeout: 10_000,
      interval: 100,
    });
    await expectValidImportWorks();
  });

  it('not a gzip stream, and an empty body', async () => {
    await expectRefused(tarBytes(base.entries), 'BUNDLE_INVALID');
    await expectRefused(Buffer.alloc(0), 'BUNDLE_INVALID');
  });

  it('a bundle whose conversation id is already on the server: 409, the existing one unchanged', async () => {
    const existing = await exportedConversation();
    const before = await diskState(roots());
    const answer = await importBundle(existing.bundle);
    expect(answer.status).toBe(409);
    expect(errorCode(answer)).toBe('BUNDLE_CONFLICT');
    expect(await diskState(roots())).toEqual(before);
    const events = await api('GET', `/api/conversations/${existing.id}/events/count`);
    expect(events.json).toBeGreaterThanOrEqual(2);
    await expectValidImportWorks();
  });

  it.each([
    ['a working_dir that climbs out of the workspace root', '?working_dir=..%2F..%2Foutside'],
    [
      'an absolute working_dir',
      `?working_dir=${encodeURIComponent(`/tmp/ferry-planted-${randomUUID()}`)}`,
    ],
    ['a working_dir through a symlink', '?working_dir=project%2Fescape'],
  ])(
    '%s: the files land in its own folder under the root, nothing outside',
    async (_name, query) => {
      const entries = withManifest(
        [...base.entries, { path: 'workspace/planted.txt', data: PLANTED }],
        (manifest) => {
          manifest.includes_workspace = true;
        },
      );
      const outside = await diskState([join(dir.path, 'outside')]);
      const answer = await importBundle(packBundle(entries), query);
      expect(answer.status, answer.body.toString()).toBe(201);
      const workingDir = (answer.json as { conversation: { workspace: { working_dir: string } } })
        .conversation.workspace.working_dir;
      expect(workingDir).toBe(join(dir.path, 'workspaces', base.id.replaceAll('-', '')));
      await access(join(workingDir, 'planted.txt'));
      expect(await diskState([join(dir.path, 'outside')])).toEqual(outside);
      const absolute = decodeURIComponent(query.slice('?working_dir='.length));
      if (absolute.startsWith('/')) await expect(access(absolute)).rejects.toThrow();
      expect((await api('DELETE', `/api/conversations/${base.id}`)).status).toBe(200);
      await expectValidImportWorks();
    },
  );

  it('a bad agent header, and multipart uploads without a bundle or with junk fields', async () => {
    const before = await diskState(roots());
    const answers: HttpAnswer[] = [];
    for (const agent of ['%%%not base64', Buffer.from('{"llm": ').toString('base64')]) {
      answers.push(
        await httpRequest(server.url, {
          method: 'POST',
          path: '/api/conversations/import',
          headers: {
            'x-session-api-key': API_KEY,
            'content-type': 'application/gzip',
            'x-ferry-agent': agent,
          },
          body: base.bundle,
        }),
      );
    }
    const forms: FormData[] = [];
    const noBundle = new FormData();
    noBundle.set('other', new Blob([base.bundle]), 'bundle.tar.gz');
    forms.push(noBundle);
    const badAgent = new FormData();
    badAgent.set('agent', '{"llm": 5}');
    badAgent.set('bundle', new Blob([base.bundle]), 'bundle.tar.gz');
    forms.push(badAgent);
    const hostile = new FormData();
    hostile.set(
      'bundle',
      new Blob([baseWith([{ path: '../../outside/planted.txt', data: PLANTED }])]),
      '../../x.tar.gz',
    );
    forms.push(hostile);
    for (const form of forms) {
      inputsTried += 1;
      const response = await fetch(`${server.url}/api/conversations/import`, {
        method: 'POST',
        headers: { 'x-session-api-key': API_KEY },
        body: form,
      });
      const body = Buffer.from(await response.arrayBuffer());
      answers.push({
        status: response.status,
        headers: {},
        body,
        json: JSON.parse(body.toString()),
      });
    }
    for (const answer of answers) {
      expect(answer.status, answer.body.toString()).toBeGreaterThanOrEqual(400);
      expect(answer.status, answer.body.toString()).toBeLessThan(500);
      expect(errorCode(answer)).toEqual(expect.any(String));
    }
    expect(await diskState(roots())).toEqual(before);
    await expectValidImportWorks();
  });

  it('random byte mutations never give a 5xx or a half-imported conversation (fast-check)', async () => {
    const tar = tarBytes(base.entries);
    let imported = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gzip', 'tar'),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        async (layer, mutations, cut) => {
          const bytes = Buffer.from(layer === 'gzip' ? base.bundle : tar);
          for (const { at, value } of mutations) bytes[at % bytes.length] = value;
          const mutated = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          const bundle = layer === 'gzip' ? mutated : gzipSync(mutated);
          const before = await diskState(roots());
          const answer = await importBundle(bundle);
          expect(answer.status, answer.body.toString()).toBeLessThan(500);
          if (answer.status === 201) {
            // A mutation the checks cannot see (padding, a header's mtime): the whole thing.
            imported += 1;
            const id = (answer.json as { conversation: { id: string } }).conversation.id;
            const count = await api('GET', `/api/conversations/${id}/events/count`);
            expect(count.json).toBe(base.eventCount);
            expect((await api('DELETE', `/api/conversations/${id}`)).status).toBe(200);
          } else {
            refused += 1;
            expect(answer.status).toBeGreaterThanOrEqual(400);
            expect(errorCode(answer)).toEqual(expect.stringMatching(/^BUNDLE_/));
            expect(await diskState(roots())).toEqual(before);
            expect((await api('GET', `/api/conversations/${base.id}`)).status).toBe(404);
          }
        },
      ),
      { numRuns: 300 },
    );
    console.info(
      `hostile bundles: 300 mutated bundles, ${imported} imported whole, ${refused} refused`,
    );
    expect(refused).toBeGreaterThan(0);
    await expectValidImportWorks();
  });
});
