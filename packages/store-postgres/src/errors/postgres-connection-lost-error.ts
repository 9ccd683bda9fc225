import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/**
 * The connection to PostgreSQL broke while an operation was in flight (the server restarted,
 * the network dropped, an administrator ended the session). A write either committed whole or
 * not at all; reading the conversation again shows which.
 */
export class PostgresConnectionLostError extends FerryError {
  constructor(
    /** The server and database (without the password). */
    readonly location: string,
    /** What the store was doing, e.g. `appending events`. */
    readonly operation: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      'POSTGRES_CONNECTION_LOST',
      `The connection to PostgreSQL at ${location} was lost while ${operation}. ` +
        'Nothing half-written was kept: check that the server is up, then open the conversation ' +
        'again to continue from what was committed.',
      options,
    );
  }

  static override isInstance(value: unknown): value is PostgresConnectionLostError {
    return isFerryErrorNamed(value, 'PostgresConnectionLostError');
  }

  protected override details() {
    return { location: this.location, operation: this.operation };
  }
}
