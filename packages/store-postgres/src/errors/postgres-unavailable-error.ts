import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/**
 * PostgreSQL could not be reached or refused the connection: nothing listens at the address,
 * the host is unknown, the login failed or the database does not exist. `hint` says what to do.
 */
export class PostgresUnavailableError extends FerryError {
  constructor(
    /** The server and database (without the password). */
    readonly location: string,
    /** What went wrong, e.g. `connection refused`. */
    readonly reason: string,
    /** What to do about it. */
    readonly hint: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      'POSTGRES_UNAVAILABLE',
      `Cannot use PostgreSQL at ${location}: ${reason}. ${hint}`,
      options,
    );
  }

  static override isInstance(value: unknown): value is PostgresUnavailableError {
    return isFerryErrorNamed(value, 'PostgresUnavailableError');
  }

  protected override details() {
    return { location: this.location, reason: this.reason, hint: this.hint };
  }
}
