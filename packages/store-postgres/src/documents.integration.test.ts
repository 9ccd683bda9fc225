import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

let database: TestDatabase;
let stores: PostgresStore[];

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'documents');
  stores = await Promise.all(
    [0, 1, 2].map(() => PostgresStore.connect({ connectionString: database.url })),
  );
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await database.drop();
});

describe('PostgresStore documents', () => {
  it('reads nothing before the first write, then the text byte for byte', async () => {
    const [store] = stores as [PostgresStore];
    expect(await store.readDocument('absent')).toBeUndefined();
    const text = '{"b":1,"a":"\\u0000 é 🚢"}\n';
    await store.updateDocument('kept', () => text);
    expect(await store.readDocument('kept')).toBe(text);
  });

  it('applies concurrent updates from several processes one after the other, none lost', async () => {
    const updates = stores.flatMap((store, replica) =>
      Array.from({ length: 20 }, (_, n) =>
        store.updateDocument('counter', (current) => {
          const seen = JSON.parse(current ?? '[]') as string[];
          return JSON.stringify([...seen, `${replica}:${n}`]);
        }),
      ),
    );
    await Promise.all(updates);
    const seen = JSON.parse((await stores[2]!.readDocument('counter')) ?? '[]') as string[];
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
  });

  it('writes nothing when the change throws, and passes its error on', async () => {
    const [store] = stores as [PostgresStore];
    await store.updateDocument('guarded', () => 'first');
    await expect(
      store.updateDocument('guarded', () => {
        throw new RangeError('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await store.readDocument('guarded')).toBe('first');
  });
});
