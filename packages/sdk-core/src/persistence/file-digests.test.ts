import { createHash } from 'node:crypto';
import { appendFile, open, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createTemporaryDirectory } from '../testing/index';
import { InMemoryFileStore } from './in-memory-file-store';
import { fileDigest } from './file-digests';
import { LocalFileStore } from './local-file-store';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const lines = (count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => `{"n":${from + index}}\n`).join('');

describe('LocalFileStore.digest', () => {
  it('answers the SHA-256, size and lines of a file or of its first bytes', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const text = lines(5);
    await store.append('events/segment-000001.jsonl', text);
    expect(await store.digest('events/segment-000001.jsonl')).toEqual({
      size: text.length,
      sha256: hex(text),
      lines: 5,
    });
    const head = lines(2);
    expect(await store.digest('events/segment-000001.jsonl', { length: head.length })).toEqual({
      size: head.length,
      sha256: hex(head),
      lines: 2,
    });
    // Longer than the file: the whole file, whose size says so.
    expect((await store.digest('events/segment-000001.jsonl', { length: 1e9 }))?.size).toBe(
      text.length,
    );
    expect(await store.digest('events/missing.jsonl')).toBeUndefined();
  });

  it('follows its own appends without reading the file again, old prefixes included', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const first = lines(100);
    await store.append('log.jsonl', first);
    await store.digest('log.jsonl');
    // A digest reads the file in pieces (a private method): neither way may run.
    const read = vi.spyOn(store, 'read');
    const hashed = vi.spyOn(
      store as unknown as { hashInPieces: (...args: unknown[]) => Promise<boolean> },
      'hashInPieces',
    );
    const more = lines(3, 100);
    await store.append('log.jsonl', more);
    await store.append('log.jsonl', lines(1, 103));
    const whole = first + more + lines(1, 103);
    expect(await store.digest('log.jsonl')).toEqual({
      size: whole.length,
      sha256: hex(whole),
      lines: 104,
    });
    expect(await store.digest('log.jsonl', { length: first.length })).toEqual({
      size: first.length,
      sha256: hex(first),
      lines: 100,
    });
    expect(await store.digest('log.jsonl', { length: (first + more).length })).toEqual({
      size: (first + more).length,
      sha256: hex(first + more),
      lines: 103,
    });
    expect(read).not.toHaveBeenCalled();
    expect(hashed).not.toHaveBeenCalled();
    // Appended to without being followed: read and hashed again, a megabyte at a time.
    store.appendSync('log.jsonl', Buffer.from(lines(1, 104)));
    expect((await store.digest('log.jsonl'))?.sha256).toBe(hex(whole + lines(1, 104)));
    expect(hashed).toHaveBeenCalledTimes(1);
  });

  it('hashes a file larger than its read buffer, noting a prefix that ends mid-piece', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const text = lines(200_000);
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    await store.writeAtomic('big.jsonl', text);
    const cut = 1024 * 1024 + 17;
    expect(await store.digest('big.jsonl', { length: cut })).toEqual({
      size: cut,
      sha256: hex(text.slice(0, cut)),
      lines: text.slice(0, cut).split('\n').length - 1,
    });
    expect((await store.digest('big.jsonl'))?.sha256).toBe(hex(text));
  });

  it('notices a file changed behind its back, even edited in place with its times put back', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const path = join(directory.path, 'log.jsonl');
    await store.append('log.jsonl', '{"n":1}\n{"n":2}\n');
    const before = await store.digest('log.jsonl');
    const times = await stat(path);
    const handle = await open(path, 'r+');
    await handle.write('{"n":7}', 0);
    await handle.close();
    await utimes(path, times.atime, times.mtime);
    expect(await store.digest('log.jsonl')).toEqual({
      size: before?.size,
      sha256: hex('{"n":7}\n{"n":2}\n'),
      lines: 2,
    });
    // An append by another writer, then one of its own: neither is taken for the other.
    await appendFile(path, '{"n":3}\n');
    await store.append('log.jsonl', '{"n":4}\n');
    expect((await store.digest('log.jsonl'))?.sha256).toBe(
      hex('{"n":7}\n{"n":2}\n{"n":3}\n{"n":4}\n'),
    );
  });

  it('takes a noted digest until the file changes, and forgets it when the file is cut or replaced', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.writeAtomic('log.jsonl', '{"n":1}\n');
    const noted = { size: 8, sha256: hex('as written'), lines: 1 };
    await store.noteDigest('log.jsonl', noted);
    expect(await store.digest('log.jsonl')).toEqual(noted);
    await store.truncate('log.jsonl', 0);
    expect(await store.digest('log.jsonl')).toEqual({ size: 0, sha256: hex(''), lines: 0 });
    await store.writeAtomic('log.jsonl', '{"n":2}\n');
    expect((await store.digest('log.jsonl'))?.sha256).toBe(hex('{"n":2}\n'));
    // A size that is not the file's is not noted.
    await store.noteDigest('log.jsonl', { size: 3, sha256: hex('no'), lines: 0 });
    expect((await store.digest('log.jsonl'))?.sha256).toBe(hex('{"n":2}\n'));
  });
});

describe('fileDigest', () => {
  it('reads and hashes with a store that does not remember digests', async () => {
    const store = new InMemoryFileStore();
    await store.append('log.jsonl', '{"n":1}\n{"n":2}\n');
    expect(await fileDigest(store, 'log.jsonl', { length: 8 })).toEqual({
      size: 8,
      sha256: hex('{"n":1}\n'),
      lines: 1,
    });
    expect(await fileDigest(store, 'missing')).toBeUndefined();
  });
});
