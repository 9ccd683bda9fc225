import { createTestDatabase, startTestPostgres } from '@ferry/store-postgres/testing';

/**
 * Where the server suites that can run on either store keep conversations: files (the default),
 * or PostgreSQL when `FERRY_TEST_STORE=postgres` (the `reliability-postgres` test project runs
 * them again that way, as `ferry-server --database-url` would).
 */
export const RELIABILITY_STORE: 'files' | 'postgres' =
  process.env.FERRY_TEST_STORE === 'postgres' ? 'postgres' : 'files';

/** A server's store for one suite; see {@link serverStore}. */
export interface ServerStore {
  /** `startServer` options: `{ databaseUrl }` on PostgreSQL, none on files. */
  options: { databaseUrl?: string };
  /** Every row of the database as text (`''` on files): compared before and after a request. */
  rows(): Promise<string>;
  /** Drops the database (and stops a throwaway server); nothing on files. */
  drop(): Promise<void>;
}

/**
 * The store a suite's server uses: nothing to set up on files; on PostgreSQL a database of its
 * own on the test server (a throwaway server when none answers), named after `label`.
 */
export async function serverStore(label: string): Promise<ServerStore> {
  if (RELIABILITY_STORE === 'files') {
    return { options: {}, rows: () => Promise.resolve(''), drop: () => Promise.resolve() };
  }
  const postgres = await startTestPostgres();
  const database = await createTestDatabase(postgres.url, label);
  return {
    options: { databaseUrl: database.url },
    rows: () => database.rows(),
    drop: async () => {
      await database.drop();
      await postgres.stop();
    },
  };
}
