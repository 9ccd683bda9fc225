import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database of its own for one test file, on a test server. */
export interface TestDatabase {
  /** Its URL. */
  url: string;
  /** Its name. */
  name: string;
  /** Drops it (ending its open connections first). */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database (`ferry_test_<label>_<random>`) on the server at `serverUrl`,
 * so tests running at once never see each other's data. Drop it with `drop()`.
 */
export async function createTestDatabase(
  serverUrl: string,
  label = 'store',
): Promise<TestDatabase> {
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const name = `ferry_test_${safeLabel}_${randomBytes(6).toString('hex')}`;
  await administer(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    drop: () => administer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function administer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
