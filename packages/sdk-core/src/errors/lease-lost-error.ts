import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A write, renewal or release was made with a lease that is no longer the conversation's
 * current one: it was released, or another owner took the conversation over (its fencing token
 * is newer). The write was refused and changed nothing.
 */
export class LeaseLostError extends FerryError {
  constructor(
    readonly conversationId: string,
    /** The fencing token of the lease that was used. */
    readonly token: number,
    /** The token of the lease that holds the conversation now, when one does. */
    readonly currentToken: number | undefined,
    /** Where the conversation is stored (a folder, a database). */
    readonly location: string,
  ) {
    super(
      'LEASE_LOST',
      `The lease (token ${token}) on conversation ${conversationId} at ${location} is no longer ` +
        (currentToken === undefined
          ? 'held: it was released. '
          : `current: another owner holds it with token ${currentToken}. `) +
        'Nothing was written. Open the conversation again to continue it.',
    );
  }

  static override isInstance(value: unknown): value is LeaseLostError {
    return isFerryErrorNamed(value, 'LeaseLostError');
  }

  protected override details() {
    return {
      conversationId: this.conversationId,
      token: this.token,
      currentToken: this.currentToken,
      location: this.location,
    };
  }
}
