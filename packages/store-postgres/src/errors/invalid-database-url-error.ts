import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/** The `connectionString` given to `PostgresStore.connect` is not a PostgreSQL URL. */
export class InvalidDatabaseUrlError extends FerryError {
  constructor(
    /** Why it was refused. */
    readonly reason: string,
  ) {
    super(
      'INVALID_DATABASE_URL',
      `The PostgreSQL connection string is not usable: ${reason}. Pass a URL such as ` +
        'postgres://user:password@host:5432/database (the scheme postgres: or postgresql:).',
    );
  }

  static override isInstance(value: unknown): value is InvalidDatabaseUrlError {
    return isFerryErrorNamed(value, 'InvalidDatabaseUrlError');
  }

  protected override details() {
    return { reason: this.reason };
  }
}
