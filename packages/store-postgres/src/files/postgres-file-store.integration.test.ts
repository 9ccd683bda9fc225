import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PostgresStore } from '../index';
import type { TestDatabase } from '../testing/index';
import { createTestDatabase } from '../testing/index';

let database: TestDatabase;
let store: PostgresStore;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'files');
  store = await PostgresStore.connect({ connectionString: database.url });
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('PostgresStore side files', () => {
  it('writes, reads, appends and lists files and folders like a folder would', async () => {
    const files = store.files(randomUUID());
    await files.writeAtomic('TASKS.json', '[]\n');
    await files.append('observations/1.txt', 'first ');
    await files.append('observations/1.txt', new TextEncoder().encode('second ✓'));
    await files.mkdir('file_edits/empty');
    expect(await files.readText('TASKS.json')).toBe('[]\n');
    expect(await files.readText('observations/1.txt')).toBe('first second ✓');
    expect(await files.size('observations/1.txt')).toBe(Buffer.byteLength('first second ✓'));
    expect(await files.list('')).toEqual(['TASKS.json', 'file_edits', 'observations']);
    expect(await files.list('file_edits')).toEqual(['empty']);
    expect(await files.exists('file_edits/empty')).toBe(true);
    expect(await files.read('missing.txt')).toBeUndefined();
    expect(await files.list('nowhere')).toEqual([]);
    await files.truncate('observations/1.txt', 5);
    expect(await files.readText('observations/1.txt')).toBe('first');
  });

  it('creates exclusively, renames folders with their content, and removes', async () => {
    const files = store.files(randomUUID());
    expect(await files.createExclusive('a/lock', 'one')).toBe(true);
    expect(await files.createExclusive('a/lock', 'two')).toBe(false);
    expect(await files.readText('a/lock')).toBe('one');
    await files.writeAtomic('a/b/c.txt', 'deep');
    await files.rename('a', 'moved/here');
    expect(await files.exists('a')).toBe(false);
    expect(await files.readText('moved/here/b/c.txt')).toBe('deep');
    expect(await files.list('moved/here')).toEqual(['b', 'lock']);
    await expect(files.rename('nothing', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.rename('moved', 'moved/here/inside')).rejects.toMatchObject({
      code: 'EINVAL',
    });
    await files.writeAtomic('other', 'x');
    await expect(files.rename('other', 'moved/here/lock')).rejects.toMatchObject({
      code: 'EEXIST',
    });
    await expect(files.remove('moved')).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await expect(files.writeAtomic('other/inside', 'x')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(files.writeAtomic('moved', 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    await files.remove('moved', { recursive: true });
    expect(await files.list('')).toEqual(['other']);
  });

  it('scopes to a folder and refuses paths outside the conversation', async () => {
    const files = store.files(randomUUID());
    const scoped = files.scope('observations');
    await scoped.writeAtomic('x.txt', 'in a scope');
    expect(await files.readText('observations/x.txt')).toBe('in a scope');
    await expect(files.readText('../other/x')).rejects.toMatchObject({
      code: 'INVALID_STORE_PATH',
    });
    await expect(files.readText('/etc/passwd')).rejects.toMatchObject({
      code: 'INVALID_STORE_PATH',
    });
    expect(files.describe('TASKS.json')).toContain('file /TASKS.json');
  });

  it('keeps each conversation to its own files', async () => {
    const first = store.files(randomUUID());
    const second = store.files(randomUUID());
    await first.writeAtomic('TASKS.json', 'first');
    expect(await second.exists('TASKS.json')).toBe(false);
  });
});
