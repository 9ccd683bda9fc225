import type * as FileSystem from 'node:fs/promises';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTemporaryDirectory } from '../testing/index';
import { LocalFileStore } from './local-file-store';

const failures = vi.hoisted(() => ({ rename: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FileSystem>();
  return {
    ...actual,
    rename: (from: string, to: string) =>
      failures.rename
        ? Promise.reject(Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' }))
        : actual.rename(from, to),
  };
});

afterEach(() => {
  failures.rename = false;
});

describe('LocalFileStore', () => {
  it('replaces a file atomically, leaving no temp file behind', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.writeAtomic('base_state.json', 'old');
    await store.writeAtomic('base_state.json', 'new');
    expect(await readFile(join(directory.path, 'base_state.json'), 'utf8')).toBe('new');
    expect(await readdir(directory.path)).toEqual(['base_state.json']);
  });

  it('keeps the old content and no temp file when an atomic write fails', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.writeAtomic('base_state.json', 'old');
    failures.rename = true;
    await expect(store.writeAtomic('base_state.json', 'new')).rejects.toThrow(/simulated/);
    expect(await readFile(join(directory.path, 'base_state.json'), 'utf8')).toBe('old');
    expect(await readdir(directory.path)).toEqual(['base_state.json']);
  });

  it('works on the real folder: describes absolute paths and sees files written by others', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    expect(store.describe('events/segment-000001.jsonl')).toBe(
      join(directory.path, 'events', 'segment-000001.jsonl'),
    );
    await writeFile(join(directory.path, 'outside.txt'), 'hello');
    expect(await store.readText('outside.txt')).toBe('hello');
  });

  it('lists entries with their kind in one read, following links, sorted', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.writeAtomic('b.json', '{}');
    await store.append('events/segment-000001.jsonl', '{}\n');
    await mkdir(join(directory.path, 'observations'));
    await symlink(join(directory.path, 'events'), join(directory.path, 'linked'));
    expect(await store.listEntries('')).toEqual([
      { name: 'b.json', directory: false },
      { name: 'events', directory: true },
      { name: 'linked', directory: true },
      { name: 'observations', directory: true },
    ]);
    expect(await store.listEntries('events')).toEqual([
      { name: 'segment-000001.jsonl', directory: false },
    ]);
    expect(await store.listEntries('missing')).toEqual([]);
    await expect(store.listEntries('b.json')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('creates exclusively without leaving its temp file, even when the file exists', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    expect(await store.createExclusive('.lock', 'a')).toBe(true);
    expect(await store.createExclusive('.lock', 'b')).toBe(false);
    expect(await readdir(directory.path)).toEqual(['.lock']);
  });

  it('fsyncs the folder of a file an append creates, then only the file', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.mkdir('events');
    const start = store.stats.fsyncs;
    await store.append('events/segment-000001.jsonl', 'a\n');
    expect(store.stats.fsyncs - start).toBe(2);
    await store.append('events/segment-000001.jsonl', 'b\n');
    expect(store.stats.fsyncs - start).toBe(3);
  });
});
