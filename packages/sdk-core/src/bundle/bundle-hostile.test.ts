import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { conversationFolderName } from '../store/conversation-id';
import { BundleFormatError } from '../errors/bundle-format-error';
import { BundleSecurityError } from '../errors/bundle-security-error';
import { BundleTooLargeError } from '../errors/bundle-too-large-error';
import { FerryError } from '../errors/ferry-error';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { LocalFileStore } from '../persistence/local-file-store';
import { createTemporaryDirectory } from '../testing/index';
import { bundlePathProblem } from './bundle-path';
import {
  createConversation,
  entriesOf,
  exportToBytes,
  pack,
  snapshot,
  withManifest,
  type RawEntry,
} from './bundle-test-helpers';
import { importConversationBundle, readBundleManifest } from './import-bundle';

/** The entries of a real, valid bundle, to corrupt one way at a time. */
let valid: RawEntry[];

beforeAll(async () => {
  const store = new InMemoryFileStore();
  const id = await createConversation({ store, workingDir: '/tmp/project' });
  valid = await entriesOf(await exportToBytes({ store: store.scope(conversationFolderName(id)) }));
});

function replaced(path: string, data: string | Buffer): RawEntry[] {
  return valid.map((entry) => (entry.path === path ? { ...entry, data } : entry));
}

function segmentPath(): string {
  const segment = valid.find((entry) => entry.path.startsWith('events/'));
  if (segment === undefined) throw new Error('the bundle has no segment');
  return segment.path;
}

function stateJson(): Record<string, unknown> {
  const state = valid.find((entry) => entry.path === 'base_state.json');
  return JSON.parse(String(state?.data)) as Record<string, unknown>;
}

/**
 * Imports `bundle` into a root that already holds a conversation and checks that the import
 * fails with the expected error and that nothing changed on disk, next to the root included.
 */
async function expectRefused(
  bundle: Buffer,
  expected: (error: unknown) => boolean,
  options: { maxBytes?: number; maxEntries?: number } = {},
): Promise<unknown> {
  await using sandbox = await createTemporaryDirectory();
  const root = join(sandbox.path, 'conversations');
  await mkdir(root);
  await createConversation({ persistenceDir: root, workingDir: '/tmp/other' });
  const before = await snapshot(sandbox.path);
  let failure: unknown;
  try {
    await importConversationBundle({
      source: bundle,
      store: new LocalFileStore({ root }),
      workspaceDir: join(sandbox.path, 'workspace'),
      ...options,
    });
  } catch (error) {
    failure = error;
  }
  expect(failure, 'the import should fail').toBeDefined();
  expect(expected(failure), String(failure)).toBe(true);
  expect(await snapshot(sandbox.path)).toEqual(before);
  return failure;
}

const isFormat = (error: unknown) => BundleFormatError.isInstance(error);
const isSecurity = (error: unknown) => BundleSecurityError.isInstance(error);
const isTooLarge = (error: unknown) => BundleTooLargeError.isInstance(error);

describe('importing a damaged or hostile bundle changes nothing', () => {
  it('accepts the untouched bundle (the baseline the other cases change)', async () => {
    await using root = await createTemporaryDirectory();
    const result = await importConversationBundle({
      source: pack(valid),
      store: new LocalFileStore({ root: root.path }),
    });
    expect(await readdir(root.path)).toEqual([conversationFolderName(result.conversationId)]);
  });

  it('refuses a file whose checksum differs from the manifest, naming it', async () => {
    const path = segmentPath();
    const original = String(valid.find((entry) => entry.path === path)?.data);
    const tampered = original.replace('Please write', 'Please wrote');
    const error = await expectRefused(pack(replaced(path, tampered)), isFormat);
    expect(error).toMatchObject({ entry: path });
    expect((error as Error).message).toMatch(/SHA-256/);
  });

  it('refuses a file whose size differs from the manifest', async () => {
    const error = await expectRefused(pack(replaced('base_state.json', '{}')), isFormat);
    expect(error).toMatchObject({ entry: 'base_state.json' });
  });

  it('refuses a newer version, another format and a broken manifest', async () => {
    const newer = await expectRefused(
      pack(withManifest(valid, (manifest) => (manifest.version = 3))),
      isFormat,
    );
    expect((newer as Error).message).toMatch(/version 3 is newer than this Ferry reads \(2\)/);
    const deltaWithoutBase = await expectRefused(
      pack(withManifest(valid, (manifest) => (manifest.version = 2))),
      isFormat,
    );
    expect((deltaWithoutBase as Error).message).toMatch(/must name its "base"/);
    await expectRefused(
      pack(withManifest(valid, (manifest) => (manifest.format = 'zip'))),
      isFormat,
    );
    await expectRefused(pack(replaced('manifest.json', '{"format": ')), isFormat);
    await expectRefused(
      pack(withManifest(valid, (manifest) => (manifest.conversation_id = '../../etc'))),
      isFormat,
    );
    await expect(
      readBundleManifest(pack(withManifest(valid, (manifest) => (manifest.version = 2)))),
    ).rejects.toThrow(/version 2/);
  });

  it('refuses a bundle without a manifest, or with it anywhere but first', async () => {
    const rest = valid.filter((entry) => entry.path !== 'manifest.json');
    const missing = await expectRefused(pack(rest), isFormat);
    expect(missing).toMatchObject({ entry: 'manifest.json' });
    const manifest = valid.find((entry) => entry.path === 'manifest.json');
    await expectRefused(pack([...rest, manifest as RawEntry]), isFormat);
  });

  it('refuses an event count that does not match the segments', async () => {
    await expectRefused(
      pack(withManifest(valid, (manifest) => (manifest.event_count = 7))),
      isFormat,
    );
  });

  it('refuses entries missing from the archive or not in the manifest', async () => {
    const listedNotPresent = withManifest([...valid, { path: 'TASKS.json', data: '[]' }]).filter(
      (entry) => entry.path !== 'TASKS.json',
    );
    await expectRefused(pack(listedNotPresent), isFormat);
    await expectRefused(pack([...valid, { path: 'extra.txt', data: 'x' }]), isFormat);
  });

  it('refuses a state that carries a secret or belongs to another conversation', async () => {
    const leaky = stateJson();
    (leaky.agent as { llm: Record<string, unknown> }).llm.api_key = 'sk-leaked';
    const error = await expectRefused(
      pack(withManifest(replaced('base_state.json', JSON.stringify(leaky)))),
      isFormat,
    );
    expect((error as Error).message).toContain('llm.api_key');
    expect((error as Error).message).not.toContain('sk-leaked');

    const other = { ...stateJson(), id: '11111111-2222-4333-8444-555555555555' };
    await expectRefused(
      pack(withManifest(replaced('base_state.json', JSON.stringify(other)))),
      isFormat,
    );
  });

  it('refuses a bad event line even when the checksums match', async () => {
    const path = segmentPath();
    await expectRefused(pack(withManifest(replaced(path, '{"not":"an event"}\n'))), isFormat);
  });

  it.each([
    ['climbs with ../', '../evil'],
    ['climbs from inside', 'events/../../evil'],
    ['is absolute', '/tmp/ferry-evil'],
    ['has a drive letter', 'C:/evil'],
    ['uses backslashes', '..\\evil'],
    ['escapes the workspace', 'workspace/../../evil'],
  ])('refuses an entry that %s', async (_, path) => {
    const error = await expectRefused(
      pack([...valid.slice(0, 1), { path, data: 'pwned' }, ...valid.slice(1)]),
      isSecurity,
    );
    expect(error).toMatchObject({ entry: path });
  });

  it.each([
    ['a symbolic link', { path: 'escape', type: 'SymbolicLink', linkpath: '/etc' }],
    ['a hard link', { path: 'TASKS.json', type: 'Link', linkpath: '/etc/passwd' }],
    ['a device file', { path: 'dev', type: 'CharacterDevice' }],
    ['a FIFO', { path: 'pipe', type: 'FIFO' }],
  ] as const)('refuses %s', async (_, entry) => {
    const error = await expectRefused(
      pack([...valid.slice(0, 1), { ...entry }, ...valid.slice(1)]),
      isSecurity,
    );
    expect(error).toMatchObject({ entry: entry.path });
  });

  it('refuses a bundle over maxBytes, and an entry claiming more than maxBytes before reading it', async () => {
    const error = await expectRefused(pack(valid), isTooLarge, { maxBytes: 2048 });
    expect(error).toMatchObject({ limit: 2048, option: 'maxBytes' });

    // A header that claims 8 GiB: refused from the header, no body needed.
    const bomb = pack([...valid.slice(0, 1), { path: 'huge.bin', headerSize: 8 * 1024 ** 3 }]);
    const claimed = await expectRefused(bomb, isTooLarge);
    expect(claimed).toMatchObject({ subject: 'entry "huge.bin"', size: 8 * 1024 ** 3 });
  });

  it('refuses a gzip bomb once the uncompressed bytes pass the limit', async () => {
    const zeros = Buffer.alloc(16 * 1024 * 1024);
    const bomb = pack([...valid.slice(0, 1), { path: 'zeros.bin', data: zeros }]);
    expect(bomb.length).toBeLessThan(zeros.length / 500);
    await expectRefused(bomb, isTooLarge, { maxBytes: 1024 * 1024 });
  });

  it('refuses too many entries', async () => {
    const many = Array.from({ length: 50 }, (_, index) => ({
      path: `observations/${index}.txt`,
      data: 'x',
    }));
    const error = await expectRefused(pack(withManifest([...valid, ...many])), isSecurity, {
      maxEntries: 20,
    });
    expect((error as Error).message).toMatch(/more than 20 entries/);
  });

  it('refuses what is not a gzip tar, or is cut off', async () => {
    await expectRefused(Buffer.from('definitely not a bundle'), isFormat);
    await expectRefused(gzipSync(Buffer.from('not a tar either')), isFormat);
    const whole = pack(valid);
    await expectRefused(whole.subarray(0, Math.floor(whole.length / 2)), isFormat);
    await expectRefused(gzipSync(Buffer.alloc(0)), isFormat);
  });

  it('leaves nothing staged behind when the archive is cut off inside a large segment', async () => {
    // Several MiB, so the segment is staged piece by piece while the rest still arrives.
    const lines = Array.from({ length: 40_000 }, () => `${randomBytes(48).toString('hex')}\n`);
    const whole = pack(withManifest(replaced(segmentPath(), lines.join(''))));
    for (const fraction of [0.3, 0.5, 0.7, 0.9]) {
      await expectRefused(whole.subarray(0, Math.floor(whole.length * fraction)), isFormat);
    }
  });

  it('leaves no trace in a root it had to create, or in an in-memory store', async () => {
    await using sandbox = await createTemporaryDirectory();
    const damaged = pack(replaced(segmentPath(), 'damaged'));
    const local = new LocalFileStore({ root: join(sandbox.path, 'new-root') });
    await expect(importConversationBundle({ source: damaged, store: local })).rejects.toThrow(
      BundleFormatError,
    );
    expect(await readdir(sandbox.path)).toEqual([]);
    const memory = new InMemoryFileStore();
    await expect(importConversationBundle({ source: damaged, store: memory })).rejects.toThrow(
      BundleFormatError,
    );
    expect(await memory.list('')).toEqual([]);
  });

  it('validates its limits', async () => {
    const error = await importConversationBundle({
      source: pack(valid),
      store: new InMemoryFileStore(),
      maxBytes: -1,
    }).catch((failure: unknown) => failure);
    expect(FerryError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
  });
});

describe('bundle paths', () => {
  it('accepts exactly the plain relative paths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b.txt', '..', '.', '', 'c\\d', '/', 'C:', '\0', ' '), {
          minLength: 1,
          maxLength: 5,
        }),
        (segments) => {
          const path = segments.join('/');
          const problem = bundlePathProblem(path);
          // A colon is fine in a name; only a leading drive letter makes a path absolute.
          const plain =
            segments[0] !== 'C:' && segments.every((segment) => /^(a|b\.txt| |C:)$/.test(segment));
          expect(problem === undefined, `${JSON.stringify(path)}: ${problem}`).toBe(plain);
        },
      ),
    );
  });

  it('never lets an archive entry land outside the root, whatever its path', async () => {
    await using sandbox = await createTemporaryDirectory();
    const root = join(sandbox.path, 'a', 'b', 'root');
    const store = new LocalFileStore({ root });
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.constantFrom('..', '.', 'x', 'events', '', '/', 'C:'), {
            minLength: 1,
            maxLength: 6,
          })
          .map((segments) => segments.join('/'))
          .filter((path) => path !== ''),
        fc.boolean(),
        async (path, listed) => {
          // Listed, a bad path fails the manifest; unlisted, it reaches the archive reader.
          const raw = [...valid, { path, data: 'escaped' }];
          const entries = listed ? withManifest(raw) : raw;
          await importConversationBundle({ source: pack(entries), store, overwrite: true }).catch(
            () => undefined,
          );
          const files = Object.keys(await snapshot(sandbox.path));
          for (const file of files)
            expect(file.startsWith('a/b/root/') || file.endsWith('/')).toBe(true);
          expect(files.some((file) => file.endsWith('escaped'))).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});
