import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A conversation was resumed with an agent of another kind than the one that wrote it. */
export class AgentKindMismatchError extends FerryError {
  constructor(
    readonly persisted: string,
    readonly runtime: string,
  ) {
    super(
      'AGENT_KIND_MISMATCH',
      `This conversation was written by an agent of kind "${persisted}" and cannot be resumed ` +
        `with an agent of kind "${runtime}". Resume it with a "${persisted}" agent, or fork it.`,
    );
  }

  static override isInstance(value: unknown): value is AgentKindMismatchError {
    return isFerryErrorNamed(value, 'AgentKindMismatchError');
  }

  protected override details() {
    return { persisted: this.persisted, runtime: this.runtime };
  }
}
