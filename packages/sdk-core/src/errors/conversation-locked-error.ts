import { FerryError, isFerryErrorNamed } from './ferry-error';

/** The owner of a conversation's `.lock`, as written in the lock file. */
export interface LockOwner {
  pid: number;
  hostname: string;
  started_at: string;
}

/** Another live process (or another open handle in this one) already owns the conversation. */
export class ConversationLockedError extends FerryError {
  constructor(
    readonly directory: string,
    readonly owner: LockOwner,
  ) {
    super(
      'CONVERSATION_LOCKED',
      `The conversation in "${directory}" is open in process ${owner.pid} on ${owner.hostname} ` +
        `(since ${owner.started_at}). Close it there first. If that process is gone and lived on ` +
        'another host, delete the .lock file in that folder.',
    );
  }

  static override isInstance(value: unknown): value is ConversationLockedError {
    return isFerryErrorNamed(value, 'ConversationLockedError');
  }

  protected override details() {
    return { directory: this.directory, owner: this.owner };
  }
}
