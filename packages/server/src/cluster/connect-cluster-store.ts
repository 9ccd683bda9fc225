import { FerryError } from '@ferry/sdk-core';
import type * as StorePostgres from '@ferry/store-postgres';
import type { ClusterStore } from './cluster-store';

/**
 * Connects the PostgreSQL store of a cluster replica. `@ferry/store-postgres` (and its `pg`
 * driver) is loaded only here, so a server on files needs neither installed.
 *
 * @throws FerryError `STORE_POSTGRES_MISSING` when the package is not installed; the store's
 *   typed errors (`InvalidDatabaseUrlError`, `PostgresUnavailableError`, ...) otherwise.
 */
export async function connectClusterStore(options: {
  databaseUrl: string;
  leaseTtlMs: number;
}): Promise<ClusterStore> {
  let module: typeof StorePostgres;
  try {
    module = await import('@ferry/store-postgres');
  } catch (error) {
    throw new FerryError(
      'STORE_POSTGRES_MISSING',
      'A database URL needs the package @ferry/store-postgres beside @ferry/server: ' +
        'npm install @ferry/store-postgres',
      { cause: error },
    );
  }
  return module.PostgresStore.connect({
    connectionString: options.databaseUrl,
    leaseTtlMs: options.leaseTtlMs,
  });
}
