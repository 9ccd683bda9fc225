import { startTestPostgres } from './postgres-server';
import { createTestDatabase, type TestDatabase } from './test-database';

/**
 * Where test suites that can run on either store keep conversations: `postgres` when the
 * environment says `FERRY_TEST_STORE=postgres` (test projects that run a suite again on
 * PostgreSQL set it, as `ferry-server --database-url` would be used), `files` otherwise.
 */
export function testStoreKind(env: NodeJS.ProcessEnv = process.env): 'files' | 'postgres' {
  return env.FERRY_TEST_STORE === 'postgres' ? 'postgres' : 'files';
}

/** A test server's store; see {@link serverTestStore}. */
export interface ServerTestStore {
  /** `startServer` options: `{ databaseUrl }` on PostgreSQL, none on files. */
  options: { databaseUrl?: string };
  /** The server's own database on PostgreSQL. */
  database: TestDatabase | undefined;
  /** Every row of the database as text (`''` on files): compare it before and after a request. */
  rows(): Promise<string>;
  /** Drops the database and stops a throwaway server (nothing on files); after the server closed. */
  drop(): Promise<void>;
}

/**
 * The store a test server uses: nothing to set up on files; on PostgreSQL a database of its own
 * on the test server (a throwaway server when none answers), named after `label`.
 */
export async function serverTestStore(
  label: string,
  kind: 'files' | 'postgres' = testStoreKind(),
): Promise<ServerTestStore> {
  if (kind === 'files') {
    return {
      options: {},
      database: undefined,
      rows: () => Promise.resolve(''),
      drop: () => Promise.resolve(),
    };
  }
  const postgres = await startTestPostgres();
  const database = await createTestDatabase(postgres.url, label);
  return {
    options: { databaseUrl: database.url },
    database,
    rows: () => database.rows(),
    drop: async () => {
      await database.drop();
      await postgres.stop();
    },
  };
}
