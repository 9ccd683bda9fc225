import { describe, expect, it } from 'vitest';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import {
  dropLastFileVersion,
  fileEditHistoryPath,
  lastFileVersion,
  pushFileVersion,
} from './file-edit-history';

const noSecrets = (text: string) => text;

describe('file edit history', () => {
  it('gives back versions newest first, per file', async () => {
    const store = new InMemoryFileStore();
    const push = (path: string, content: string) =>
      pushFileVersion({ store, path, content, depth: 10, maskSecrets: noSecrets });
    await push('/w/a.txt', 'a1');
    await push('/w/a.txt', 'a2');
    await push('/w/b.txt', 'b1');

    expect(await lastFileVersion(store, '/w/a.txt')).toBe('a2');
    await dropLastFileVersion(store, '/w/a.txt');
    expect(await lastFileVersion(store, '/w/a.txt')).toBe('a1');
    await dropLastFileVersion(store, '/w/a.txt');
    expect(await lastFileVersion(store, '/w/a.txt')).toBeUndefined();
    expect(await store.exists(fileEditHistoryPath('/w/a.txt'))).toBe(false);
    expect(await lastFileVersion(store, '/w/b.txt')).toBe('b1');
  });

  it('keeps at most `depth` versions, dropping the oldest', async () => {
    const store = new InMemoryFileStore();
    for (const content of ['v1', 'v2', 'v3']) {
      await pushFileVersion({ store, path: '/w/f', content, depth: 2, maskSecrets: noSecrets });
    }
    await dropLastFileVersion(store, '/w/f');
    expect(await lastFileVersion(store, '/w/f')).toBe('v2');
    await dropLastFileVersion(store, '/w/f');
    expect(await lastFileVersion(store, '/w/f')).toBeUndefined();
  });

  it('never writes a version that holds a secret', async () => {
    const store = new InMemoryFileStore();
    const maskSecrets = (text: string) => text.replaceAll('hunter2', '<secret-hidden>');
    await pushFileVersion({
      store,
      path: '/w/.env',
      content: 'PASSWORD=hunter2\n',
      depth: 10,
      maskSecrets,
    });

    expect(await lastFileVersion(store, '/w/.env')).toBeNull();
    expect(await store.readText(fileEditHistoryPath('/w/.env'))).not.toContain('hunter2');
  });

  it('ignores a damaged history file', async () => {
    const store = new InMemoryFileStore();
    await store.writeAtomic(fileEditHistoryPath('/w/f'), '{"path": "/w/f", "versions": 3}');
    expect(await lastFileVersion(store, '/w/f')).toBeUndefined();
  });
});
