import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A new conversation was opened without an agent. */
export class AgentRequiredError extends FerryError {
  constructor(readonly directory: string) {
    super(
      'AGENT_REQUIRED',
      `No conversation exists in "${directory}" yet, so an agent is needed to start one: pass ` +
        '`agent` to LocalConversation.open(). (On resume the agent is optional.)',
    );
  }

  static override isInstance(value: unknown): value is AgentRequiredError {
    return isFerryErrorNamed(value, 'AgentRequiredError');
  }

  protected override details() {
    return { directory: this.directory };
  }
}
