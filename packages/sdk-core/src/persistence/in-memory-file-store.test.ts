import { describe, expect, it } from 'vitest';
import { InMemoryFileStore } from './in-memory-file-store';
import { hasErrorCode } from './system-error';

describe('InMemoryFileStore', () => {
  it('describes locations as memory:/ paths, scopes included', () => {
    const store = new InMemoryFileStore();
    expect(store.describe('events/segment-000001.jsonl')).toBe(
      'memory:/events/segment-000001.jsonl',
    );
    expect(store.scope('c1').describe('.lock')).toBe('memory:/c1/.lock');
    expect(store.describe('')).toBe('memory:/');
  });

  it('keeps separate stores apart', async () => {
    const first = new InMemoryFileStore();
    const second = new InMemoryFileStore();
    await first.writeAtomic('a', 'x');
    expect(await second.exists('a')).toBe(false);
  });

  it('fails like the file system, by error code', async () => {
    const store = new InMemoryFileStore();
    await store.writeAtomic('file', 'x');
    await store.mkdir('folder');
    const outcomes = await Promise.allSettled([
      store.truncate('missing', 0),
      store.append('file/child', 'x'),
      store.read('folder'),
      store.writeAtomic('folder', 'x'),
    ]);
    const codes = outcomes.map((outcome) =>
      outcome.status === 'rejected'
        ? ['ENOENT', 'ENOTDIR', 'EISDIR'].find((code) => hasErrorCode(outcome.reason, code))
        : 'fulfilled',
    );
    expect(codes).toEqual(['ENOENT', 'ENOTDIR', 'EISDIR', 'EISDIR']);
  });

  it('joins many appends into one file', async () => {
    const store = new InMemoryFileStore();
    for (let index = 0; index < 1000; index += 1) await store.append('log', `${index}\n`);
    const text = await store.readText('log');
    expect(text?.split('\n').slice(0, 3)).toEqual(['0', '1', '2']);
    expect(await store.size('log')).toBe(Buffer.byteLength(text ?? ''));
  });
});
