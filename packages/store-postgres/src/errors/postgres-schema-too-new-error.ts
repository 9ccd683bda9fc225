import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/** The database was migrated by a newer `@ferry/store-postgres` than the one running. */
export class PostgresSchemaTooNewError extends FerryError {
  constructor(
    /** The server, database and schema (without the password). */
    readonly location: string,
    /** The schema version the database has. */
    readonly databaseVersion: number,
    /** The newest schema version this package knows. */
    readonly supportedVersion: number,
  ) {
    super(
      'POSTGRES_SCHEMA_TOO_NEW',
      `The Ferry tables at ${location} have schema version ${databaseVersion}, but this ` +
        `@ferry/store-postgres knows versions up to ${supportedVersion}. Upgrade ` +
        '@ferry/store-postgres to the version that wrote them; nothing was changed.',
    );
  }

  static override isInstance(value: unknown): value is PostgresSchemaTooNewError {
    return isFerryErrorNamed(value, 'PostgresSchemaTooNewError');
  }

  protected override details() {
    return {
      location: this.location,
      databaseVersion: this.databaseVersion,
      supportedVersion: this.supportedVersion,
    };
  }
}
