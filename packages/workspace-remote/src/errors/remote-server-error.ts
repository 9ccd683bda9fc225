import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/**
 * The Ferry server answered with an HTTP error that has no more specific Ferry error class, or
 * could not be reached at all (`status` is then undefined). `serverCode` is the stable `code`
 * of the server's error answer, when it sent one.
 */
export class RemoteServerError extends FerryError {
  constructor(
    message: string,
    readonly status?: number,
    options: { cause?: unknown; serverCode?: string } = {},
  ) {
    super('REMOTE_SERVER_ERROR', message, { cause: options.cause });
    this.serverCode = options.serverCode;
  }

  /** The `code` of the server's error answer (`CONVERSATION_NOT_FOUND`, ...), if any. */
  readonly serverCode: string | undefined;

  static override isInstance(value: unknown): value is RemoteServerError {
    return isFerryErrorNamed(value, 'RemoteServerError');
  }

  protected override details() {
    return { status: this.status, server_code: this.serverCode };
  }
}
