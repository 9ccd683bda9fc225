import { describe, expect, it } from 'vitest';
import { FerryError } from '../errors/index';
import { createTemporaryDirectory } from '../testing/index';
import type { FileStore } from './file-store';
import { InMemoryFileStore } from './in-memory-file-store';
import { readJson, writeJsonAtomic } from './json-file';
import { LocalFileStore } from './local-file-store';
import { hasErrorCode } from './system-error';

interface StoreUnderTest extends AsyncDisposable {
  store: FileStore;
}

const implementations: { name: string; create: () => Promise<StoreUnderTest> }[] = [
  {
    name: 'LocalFileStore',
    create: async () => {
      const directory = await createTemporaryDirectory({ prefix: 'ferry-store-' });
      return {
        store: new LocalFileStore({ root: directory.path }),
        [Symbol.asyncDispose]: () => directory.remove(),
      };
    },
  },
  {
    name: 'InMemoryFileStore',
    create: () =>
      Promise.resolve({ store: new InMemoryFileStore(), [Symbol.asyncDispose]: async () => {} }),
  },
];

function decode(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe.each(implementations)('FileStore conformance: $name', ({ create }) => {
  it('reads back atomic writes, creating folders, and undefined for missing files', async () => {
    await using subject = await create();
    const { store } = subject;
    expect(await store.read('a/b/state.json')).toBeUndefined();
    expect(await store.readText('a/b/state.json')).toBeUndefined();
    await store.writeAtomic('a/b/state.json', 'first');
    await store.writeAtomic('a/b/state.json', new TextEncoder().encode('second ✓'));
    expect(await store.readText('a/b/state.json')).toBe('second ✓');
    expect(decode(await store.read('a/b/state.json'))).toBe('second ✓');
    expect(await store.list('a/b')).toEqual(['state.json']);
    expect(await store.size('a/b/state.json')).toBe(Buffer.byteLength('second ✓'));
  });

  it('appends, truncates and reports sizes', async () => {
    await using subject = await create();
    const { store } = subject;
    await store.append('log/x.jsonl', 'one\n');
    await store.append('log/x.jsonl', new TextEncoder().encode('two\n'), { fsync: false });
    expect(await store.readText('log/x.jsonl')).toBe('one\ntwo\n');
    await store.truncate('log/x.jsonl', 4);
    expect(await store.readText('log/x.jsonl')).toBe('one\n');
    expect(await store.size('log/x.jsonl')).toBe(4);
    expect(await store.size('log/missing')).toBeUndefined();
  });

  it('does not let later changes to a written array reach the file', async () => {
    await using subject = await create();
    const { store } = subject;
    const bytes = new TextEncoder().encode('abc');
    await store.append('f', bytes);
    bytes[0] = 0x7a;
    const read = await store.read('f');
    expect(decode(read)).toBe('abc');
    if (read !== undefined) read[1] = 0x7a;
    expect(await store.readText('f')).toBe('abc');
  });

  it('lists sorted entry names, [] for a missing folder', async () => {
    await using subject = await create();
    const { store } = subject;
    expect(await store.list('nothing-here')).toEqual([]);
    await store.writeAtomic('d/b.txt', 'b');
    await store.writeAtomic('d/a.txt', 'a');
    await store.mkdir('d/sub/deeper');
    expect(await store.list('d')).toEqual(['a.txt', 'b.txt', 'sub']);
    expect(await store.list('')).toEqual(['d']);
  });

  it('checks existence and removes files and folders', async () => {
    await using subject = await create();
    const { store } = subject;
    await store.writeAtomic('d/f.txt', 'x');
    expect(await store.exists('d/f.txt')).toBe(true);
    expect(await store.exists('d')).toBe(true);
    expect(await store.exists('d/g.txt')).toBe(false);

    const notEmpty = await rejection(store.remove('d'));
    expect(hasErrorCode(notEmpty, 'ENOTEMPTY', 'EEXIST')).toBe(true);
    await store.remove('d/f.txt');
    await store.remove('d/f.txt');
    expect(await store.exists('d/f.txt')).toBe(false);
    await store.remove('d');
    expect(await store.exists('d')).toBe(false);

    await store.writeAtomic('e/1/2.txt', 'x');
    await store.remove('e', { recursive: true });
    expect(await store.exists('e')).toBe(false);
    expect(await store.list('')).toEqual([]);
  });

  it('renames files and folders into new parents, refusing existing targets', async () => {
    await using subject = await create();
    const { store } = subject;
    await store.writeAtomic('staging/a/base_state.json', '{}');
    await store.writeAtomic('staging/a/events/segment-000001.jsonl', 'e\n');
    await store.mkdir('staging/a/empty');
    await store.rename('staging/a', 'live/b');
    expect(await store.exists('staging/a')).toBe(false);
    expect(await store.list('staging')).toEqual([]);
    expect(await store.list('live/b')).toEqual(['base_state.json', 'empty', 'events']);
    expect(await store.readText('live/b/events/segment-000001.jsonl')).toBe('e\n');

    await store.rename('live/b/base_state.json', 'live/b/old.json');
    expect(await store.list('live/b')).toEqual(['empty', 'events', 'old.json']);

    await store.writeAtomic('other.txt', 'x');
    for (const [from, to, code] of [
      ['missing', 'somewhere', 'ENOENT'],
      ['other.txt', 'live/b/old.json', 'EEXIST'],
      ['other.txt', 'live/b/empty', 'EEXIST'],
      ['live', 'live/b/inner', 'EINVAL'],
      ['', 'elsewhere', 'EINVAL'],
    ] as const) {
      const error = await rejection(store.rename(from, to));
      expect(hasErrorCode(error, code), `${from} -> ${to}: ${String(error)}`).toBe(true);
    }
    expect(await store.readText('live/b/old.json')).toBe('{}');
    expect(await store.readText('other.txt')).toBe('x');
    const escape = await rejection(store.rename('other.txt', '../outside.txt'));
    expect(FerryError.isInstance(escape) && escape.code).toBe('INVALID_STORE_PATH');
  });

  it('renames within scopes and counts the folder fsyncs', async () => {
    await using subject = await create();
    const { store } = subject;
    const scoped = store.scope('root');
    await scoped.writeAtomic('.import-1/conversation/base_state.json', '{}');
    const before = store.stats.fsyncs;
    // Same parent folder: one fsync; different parents: both.
    await scoped.rename('.import-1/conversation', '.import-1/ready');
    expect(store.stats.fsyncs - before).toBe(1);
    await scoped.rename('.import-1/ready', 'abc');
    expect(store.stats.fsyncs - before).toBe(3);
    expect(await store.readText('root/abc/base_state.json')).toBe('{}');
  });

  it('creates a file exclusively only once', async () => {
    await using subject = await create();
    const { store } = subject;
    expect(await store.createExclusive('locks/.lock', 'mine')).toBe(true);
    expect(await store.createExclusive('locks/.lock', 'theirs')).toBe(false);
    expect(await store.readText('locks/.lock')).toBe('mine');
    expect(await store.list('locks')).toEqual(['.lock']);
  });

  it('creates a file exclusively without syncing it when asked (a lock), its new folder synced', async () => {
    await using subject = await create();
    const { store } = subject;
    const before = store.stats.fsyncs;
    expect(await store.createExclusive('locks/.lock', 'mine', { fsync: false })).toBe(true);
    // Only the folder entries it created: `locks` in the root.
    expect(store.stats.fsyncs - before).toBe(1);
    expect(await store.createExclusive('locks/.lock', 'theirs', { fsync: false })).toBe(false);
    expect(await store.createExclusive('locks/.other', 'mine', { fsync: false })).toBe(true);
    expect(store.stats.fsyncs - before).toBe(1);
    expect(await store.readText('locks/.lock')).toBe('mine');
    expect(await store.list('locks')).toEqual(['.lock', '.other']);
  });

  it('scopes share files and stats with their parent', async () => {
    await using subject = await create();
    const { store } = subject;
    const scoped = store.scope('conversations/abc');
    await scoped.writeAtomic('base_state.json', '{}');
    expect(await store.readText('conversations/abc/base_state.json')).toBe('{}');
    expect(await scoped.list('')).toEqual(['base_state.json']);
    expect(scoped.stats).toBe(store.stats);
    expect(scoped.describe('base_state.json')).toBe(
      store.describe('conversations/abc/base_state.json'),
    );
  });

  it('refuses paths outside the root', async () => {
    await using subject = await create();
    const { store } = subject;
    for (const attempt of [
      store.read('../outside'),
      store.writeAtomic('/etc/ferry', 'x'),
      store.append('a/../../outside', 'x'),
      store.list('..'),
    ]) {
      const error = await rejection(attempt);
      expect(FerryError.isInstance(error) && error.code).toBe('INVALID_STORE_PATH');
    }
    expect(() => store.scope('../sibling')).toThrow(/climbs above the store root/);
  });

  it('counts writes and fsyncs: one fsync per fsynced append to an existing file', async () => {
    await using subject = await create();
    const { store } = subject;
    await store.append('events/x.jsonl', 'a\n');
    const before = { ...store.stats };
    await store.append('events/x.jsonl', 'b\n');
    expect(store.stats.writes - before.writes).toBe(1);
    expect(store.stats.fsyncs - before.fsyncs).toBe(1);
    await store.append('events/x.jsonl', 'c\n', { fsync: false });
    expect(store.stats.fsyncs - before.fsyncs).toBe(1);
    await store.writeAtomic('events/state.json', '{}');
    // The temp file and the folder.
    expect(store.stats.fsyncs - before.fsyncs).toBe(3);
    expect(store.stats.writes - before.writes).toBe(3);
  });

  it('writes pretty JSON with a trailing newline and reads it back', async () => {
    await using subject = await create();
    const { store } = subject;
    await writeJsonAtomic(store, 'base_state.json', { id: 'x', tags: { a: 1 } });
    expect(await store.readText('base_state.json')).toBe(
      '{\n  "id": "x",\n  "tags": {\n    "a": 1\n  }\n}\n',
    );
    expect(await readJson(store, 'base_state.json')).toEqual({ id: 'x', tags: { a: 1 } });
    expect(await readJson(store, 'missing.json')).toBeUndefined();
    await store.writeAtomic('broken.json', '{"id":');
    const error = await rejection(readJson(store, 'broken.json'));
    expect(FerryError.isInstance(error) && error.code).toBe('INVALID_JSON_FILE');
    expect((error as Error).message).toContain(store.describe('broken.json'));
  });
});

describe('LocalFileStore.appendSync', () => {
  it('appends at once, without creating a missing file', async () => {
    await using directory = await createTemporaryDirectory({ prefix: 'ferry-store-' });
    const store = new LocalFileStore({ root: directory.path });
    await store.writeAtomic('staged/segment.jsonl', '');
    store.appendSync('staged/segment.jsonl', Buffer.from('one\n'));
    store.appendSync('staged/segment.jsonl', Buffer.from('two\n'));
    expect(await store.readText('staged/segment.jsonl')).toBe('one\ntwo\n');
    let error: unknown;
    try {
      store.appendSync('staged/missing.jsonl', Buffer.from('x'));
    } catch (caught) {
      error = caught;
    }
    expect(hasErrorCode(error, 'ENOENT')).toBe(true);
    expect(await store.exists('staged/missing.jsonl')).toBe(false);
  });
});
