import pg from 'pg';
import type { ConnectionSettings } from './connection';
import { translateError } from './connection';
import { PostgresSchemaTooNewError } from './errors/postgres-schema-too-new-error';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations';
import { SQL } from './sql';

/** A pool on the store's schema whose failures arrive as the store's typed errors. */
export class Database {
  readonly pool: pg.Pool;

  constructor(readonly settings: ConnectionSettings) {
    this.pool = new pg.Pool({ ...settings.client, max: settings.maxConnections });
    // An idle connection that breaks is dropped by the pool; the next query opens a new one.
    this.pool.on('error', () => {});
  }

  get location(): string {
    return this.settings.location;
  }

  /** Runs one statement; `operation` names it in a connection-lost error. */
  async query<R extends pg.QueryResultRow>(
    operation: string,
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw translateError(error, this.location, operation);
    }
  }

  /** Runs `body` in one transaction on one connection: committed whole or rolled back. */
  async transaction<T>(operation: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateError(error, this.location, operation);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw translateError(error, this.location, operation);
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /**
   * Brings the schema to the newest version this package knows, holding an advisory lock so
   * that processes connecting at once apply each migration exactly once.
   * @throws PostgresSchemaTooNewError when a newer package already migrated it.
   */
  async migrate(): Promise<void> {
    const { schema } = this.settings;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateError(error, this.location, 'connecting');
    }
    const lockKey = `ferry-store-postgres:${schema}`;
    try {
      await client.query(SQL.lockMigrations, [lockKey]);
      try {
        await client.query(SQL.createSchema(schema));
        await client.query(SQL.createMigrationsTable);
        const { rows } = await client.query<{ version: number }>(SQL.schemaVersion);
        const current = Number(rows[0]?.version ?? 0);
        if (current > LATEST_SCHEMA_VERSION) {
          throw new PostgresSchemaTooNewError(this.location, current, LATEST_SCHEMA_VERSION);
        }
        for (const migration of MIGRATIONS) {
          if (migration.version <= current) continue;
          await client.query('BEGIN');
          try {
            await client.query(migration.sql);
            await client.query(SQL.recordMigration, [migration.version, migration.name]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
        }
      } finally {
        await client.query(SQL.unlockMigrations, [lockKey]);
      }
    } catch (error) {
      throw translateError(error, this.location, 'applying migrations');
    } finally {
      client.release();
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
