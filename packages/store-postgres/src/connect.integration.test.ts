import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closedPort } from './closed-port.test-support';
import {
  InvalidDatabaseUrlError,
  LATEST_SCHEMA_VERSION,
  PostgresConnectionLostError,
  PostgresSchemaTooNewError,
  PostgresStore,
  PostgresUnavailableError,
} from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'connect');
});
afterAll(async () => {
  await database.drop();
});

async function admin<R extends pg.QueryResultRow>(statement: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await client.query<R>(statement, values);
  } finally {
    await client.end();
  }
}

function event(n: number) {
  return { id: randomUUID(), kind: 'MessageEvent', timestamp: new Date().toISOString(), n };
}

describe('PostgresStore.connect', () => {
  it('refuses a connection string that is not a PostgreSQL URL', async () => {
    for (const connectionString of ['', 'not a url', 'mysql://root@localhost/db']) {
      const error = await PostgresStore.connect({ connectionString }).catch((e: unknown) => e);
      expect(InvalidDatabaseUrlError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/postgres:\/\/user:password@host:5432\/database/);
    }
  });

  it('says to start the server when the connection is refused, without the password', async () => {
    const port = await closedPort();
    const error = await PostgresStore.connect({
      connectionString: `postgres://someone:s3cret-pw@127.0.0.1:${port}/ferry`,
    }).catch((e: unknown) => e);
    expect(PostgresUnavailableError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`postgres://someone@127.0.0.1:${port}/ferry`);
    expect(message).toMatch(/refused.*Start PostgreSQL/);
    expect(message).not.toContain('s3cret-pw');
    expect((error as PostgresUnavailableError).code).toBe('POSTGRES_UNAVAILABLE');
  });

  it('says to create the database when it does not exist', async () => {
    const url = new URL(database.url);
    url.pathname = '/ferry_no_such_database';
    const error = await PostgresStore.connect({ connectionString: url.href }).catch(
      (e: unknown) => e,
    );
    expect(PostgresUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/does not exist.*createdb/);
  });

  it('applies the migrations once, also when many processes connect at once', async () => {
    const schema = `concurrent_${randomUUID().slice(0, 8)}`;
    const stores = await Promise.all(
      Array.from({ length: 6 }, () =>
        PostgresStore.connect({ connectionString: database.url, schema, maxConnections: 2 }),
      ),
    );
    try {
      const { rows } = await admin<{ version: number }>(
        `SELECT version FROM "${schema}".ferry_schema_migrations ORDER BY version`,
      );
      expect(rows.map((row) => row.version)).toEqual(
        Array.from({ length: LATEST_SCHEMA_VERSION }, (_, index) => index + 1),
      );
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('refuses a database migrated by a newer package, changing nothing', async () => {
    const schema = `newer_${randomUUID().slice(0, 8)}`;
    const store = await PostgresStore.connect({ connectionString: database.url, schema });
    await store.close();
    const newer = LATEST_SCHEMA_VERSION + 1;
    await admin(
      `INSERT INTO "${schema}".ferry_schema_migrations (version, name) VALUES ($1, 'future')`,
      [newer],
    );
    const error = await PostgresStore.connect({ connectionString: database.url, schema }).catch(
      (e: unknown) => e,
    );
    expect(PostgresSchemaTooNewError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      databaseVersion: newer,
      supportedVersion: LATEST_SCHEMA_VERSION,
    });
    expect((error as Error).message).toMatch(/Upgrade @ferry\/store-postgres/);
  });

  it('reports a connection lost mid-append with a typed error, keeping no half write', async () => {
    const schema = `lost_${randomUUID().slice(0, 8)}`;
    const store = await PostgresStore.connect({ connectionString: database.url, schema });
    const id = randomUUID();
    try {
      const lease = await store.acquireLease(id);
      await store.writeState(lease, { id });
      await store.appendEvents(lease, [event(0)]);
      // Hold the conversation's row so the next append waits in the server, then end its session.
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(
          `SELECT 1 FROM "${schema}".ferry_conversations WHERE id = $1 FOR UPDATE`,
          [id],
        );
        const append = store.appendEvents(lease, [event(1)]).catch((e: unknown) => e);
        for (;;) {
          const { rows } = await blocker.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          );
          if (rows.length > 0) {
            for (const row of rows)
              await blocker.query('SELECT pg_terminate_backend($1)', [row.pid]);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const error = await append;
        expect(PostgresConnectionLostError.isInstance(error)).toBe(true);
        expect((error as Error).message).toMatch(
          /lost while appending events.*open the conversation again/s,
        );
        await blocker.query('ROLLBACK');
      } finally {
        await blocker.end();
      }
      // The store goes on with a fresh connection; the interrupted append left nothing.
      expect(await store.eventCount(id)).toBe(1);
      expect(await store.appendEvents(lease, [event(2)])).toEqual({ from: 1, next: 2 });
      await store.releaseLease(lease);
    } finally {
      await store.close();
    }
  });

  it('refuses use after close with a typed error', async () => {
    const store = await PostgresStore.connect({ connectionString: database.url });
    await store.close();
    await store.close();
    await expect(store.readState(randomUUID())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
