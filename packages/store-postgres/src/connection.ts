import type pg from 'pg';
import { FerryError } from '@ferry/sdk-core';
import { InvalidDatabaseUrlError } from './errors/invalid-database-url-error';
import { PostgresConnectionLostError } from './errors/postgres-connection-lost-error';
import { PostgresUnavailableError } from './errors/postgres-unavailable-error';
import { SCHEMA_NAME } from './sql';

/** Options of `PostgresStore.connect`. */
export interface PostgresStoreOptions {
  /** Where the database is: `postgres://user:password@host:5432/database` (`postgresql:` too). */
  connectionString: string;
  /**
   * The schema holding Ferry's tables (created when missing; default `public`). Several stores
   * can share a database with a schema each.
   */
  schema?: string;
  /** The most connections the store's pool opens (default 10), plus one for live events. */
  maxConnections?: number;
  /**
   * How long a lease taken without `ttlMs` survives its process (default 15 000 ms). The store
   * renews such leases every third of it while the process lives, so a conversation is only
   * taken over once its owner stopped (or, on the same host, at once when its process is gone).
   */
  leaseTtlMs?: number;
  /** How long to wait for the server to accept a connection (default 10 000 ms). */
  connectTimeoutMs?: number;
}

/** The validated settings a store runs with. */
export interface ConnectionSettings {
  /** The pg client configuration (search_path set to the schema). */
  client: pg.ClientConfig;
  schema: string;
  maxConnections: number;
  leaseTtlMs: number;
  /** The server and database without the password, plus the schema when not `public`. */
  location: string;
}

/** Checks the options and derives the client configuration; throws `InvalidDatabaseUrlError`. */
export function connectionSettings(options: PostgresStoreOptions): ConnectionSettings {
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || connectionString.trim() === '') {
    throw new InvalidDatabaseUrlError('it is empty');
  }
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new InvalidDatabaseUrlError('it is not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidDatabaseUrlError(`the scheme is "${url.protocol}", not postgres:`);
  }
  if (url.hostname === '' && url.searchParams.get('host') === null) {
    throw new InvalidDatabaseUrlError('it names no host');
  }
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new FerryError(
      'INVALID_POSTGRES_SCHEMA',
      `The schema name "${schema}" is not allowed: use lower-case letters, digits and _ ` +
        '(starting with a letter or _), at most 63 characters.',
    );
  }
  const maxConnections = positiveInteger('maxConnections', options.maxConnections, 10);
  const leaseTtlMs = positiveInteger('leaseTtlMs', options.leaseTtlMs, 15_000);
  const connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 10_000);
  const visible = new URL(url.href);
  visible.password = '';
  visible.search = '';
  const location = `${visible.href}${schema === 'public' ? '' : ` (schema ${schema})`}`;
  return {
    client: {
      connectionString,
      connectionTimeoutMillis: connectTimeoutMs,
      options: `-c search_path=${schema}`,
      application_name: 'ferry-store-postgres',
    },
    schema,
    maxConnections,
    leaseTtlMs,
    location,
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new FerryError(
      'INVALID_STORE_OPTIONS',
      `PostgresStore option ${name} must be a positive integer, got ${String(value)}.`,
    );
  }
  return value;
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused (nothing listens there)',
  ENOTFOUND: 'the host name is unknown',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  ENOENT: 'the socket does not exist (nothing listens there)',
  '57P03': 'the server is starting up or shutting down',
};

const LOST = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', '08006', '08003', '08000']);

/**
 * Turns what pg throws into the store's typed errors, so a user learns what to do: an
 * unreachable server, a missing database, a failed login, a connection lost mid-operation.
 * Other errors pass through unchanged.
 */
export function translateError(error: unknown, location: string, operation: string): unknown {
  if (FerryError.isInstance(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const options = { cause: error };
  const syscall = (error as { syscall?: unknown }).syscall;
  const reaching = syscall === 'connect' || syscall === 'getaddrinfo' || code === '57P03';
  if (typeof code === 'string' && code in UNREACHABLE && reaching) {
    return new PostgresUnavailableError(
      location,
      UNREACHABLE[code]!,
      'Start PostgreSQL, or fix the host and port in the connection string.',
      options,
    );
  }
  if (code === '3D000') {
    return new PostgresUnavailableError(
      location,
      'the database does not exist',
      'Create it (e.g. `createdb <name>`), or fix the database name in the connection string.',
      options,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new PostgresUnavailableError(
      location,
      'the server refused the login',
      'Check the user name and password in the connection string.',
      options,
    );
  }
  if (/timeout expired|connection timeout/i.test(error.message)) {
    return new PostgresUnavailableError(
      location,
      'the server did not answer in time',
      'Check that PostgreSQL runs and is reachable, or raise connectTimeoutMs.',
      options,
    );
  }
  if (
    (typeof code === 'string' && LOST.has(code)) ||
    /Connection terminated|connection ended|Client has encountered a connection error/i.test(
      error.message,
    )
  ) {
    return new PostgresConnectionLostError(location, operation, options);
  }
  return error;
}
