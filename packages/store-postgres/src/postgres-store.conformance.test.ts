import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { describeConversationStoreConformance } from '@ferry/sdk-core/testing/conformance';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

let database: TestDatabase;

/** Runs one statement on the test database behind the store's back. */
async function behindTheBack(statement: string, values: unknown[]): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(statement, values);
  } finally {
    await client.end();
  }
}

describeConversationStoreConformance({
  name: 'PostgresStore',
  beforeAll: async () => {
    database = await createTestDatabase(inject('postgresServerUrl'), 'conformance');
  },
  afterAll: async () => {
    await database.drop();
  },
  // A schema of its own for each group of tests.
  createStore: () =>
    PostgresStore.connect({
      connectionString: database.url,
      schema: `group_${randomBytes(4).toString('hex')}`,
    }),
  destroyStore: async (store) => {
    await store.close();
    await behindTheBack(`DROP SCHEMA "${store.schema}" CASCADE`, []);
  },
  openPeer: (store) =>
    PostgresStore.connect({ connectionString: database.url, schema: store.schema }),
  corruptEvent: async (store, conversationId, sequence) => {
    await behindTheBack(
      `UPDATE "${store.schema}".ferry_events SET document = '{"id": "torn'
        WHERE conversation_id = $1 AND sequence = $2`,
      [conversationId, sequence],
    );
  },
});
