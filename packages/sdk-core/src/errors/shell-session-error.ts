import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * Why a shell session refused a call: `busy` (a command is still running: send input to it or
 * interrupt it), `no_running_command` (input was sent but nothing is running), `closed`.
 */
export type ShellSessionErrorReason = 'busy' | 'no_running_command' | 'closed';

const MESSAGES: Record<ShellSessionErrorReason, string> = {
  busy:
    'a command is still running. Send input to it with isInput, interrupt it by sending "C-c" ' +
    'with isInput, or reset the session.',
  no_running_command: 'no command is running, so there is nothing to send input to.',
  closed: 'the session is closed. Open a new one with openShell().',
};

/** A shell session call that the session's state does not allow. */
export class ShellSessionError extends FerryError {
  constructor(
    readonly sessionId: string,
    readonly reason: ShellSessionErrorReason,
  ) {
    super('SHELL_SESSION_ERROR', `Shell session "${sessionId}": ${MESSAGES[reason]}`);
  }

  static override isInstance(value: unknown): value is ShellSessionError {
    return isFerryErrorNamed(value, 'ShellSessionError');
  }

  protected override details() {
    return { session_id: this.sessionId, reason: this.reason };
  }
}
