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
  /**
   * Every row of every table in every schema of the database, as text, one per line, in a stable
   * order: what a test compares before and after a request (nothing changed) or scans for a
   * plaintext secret. Leaves out the columns that change on their own while nothing happens
   * (lease holders and expiries, and `*_at` timestamps).
   */
  rows(): Promise<string>;
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
    rows: () => readRows(url.href),
  };
}

/** Columns that change while nothing happens: lease renewals and their clocks. */
const RESTLESS_COLUMN = /^lease_|_at$/;

async function readRows(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows: columns } = await client.query<{
      table_schema: string;
      table_name: string;
      column_name: string;
      data_type: string;
    }>(
      `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY table_schema, table_name, ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const column of columns) {
      if (RESTLESS_COLUMN.test(column.column_name)) continue;
      const table = `${quote(column.table_schema)}.${quote(column.table_name)}`;
      // Bytes as text where they are printable, so a plaintext among them can be found.
      const name = quote(column.column_name);
      const value = column.data_type === 'bytea' ? `encode(${name}, 'escape')` : name;
      tables.set(table, [...(tables.get(table) ?? []), value]);
    }
    const lines: string[] = [];
    for (const [table, names] of tables) {
      const { rows } = await client.query<{ row: string }>(
        `SELECT ROW(${names.join(', ')})::text AS row FROM ${table} ORDER BY 1`,
      );
      for (const { row } of rows) lines.push(`${table} ${row}`);
    }
    return lines.join('\n');
  } finally {
    await client.end();
  }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
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
