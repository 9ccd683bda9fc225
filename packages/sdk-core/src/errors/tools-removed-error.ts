import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A conversation was resumed with an agent that no longer offers tools the conversation has
 * already offered to the LLM. Tools may be added on resume, never removed.
 */
export class ToolsRemovedError extends FerryError {
  constructor(readonly removed: readonly string[]) {
    super(
      'TOOLS_REMOVED',
      `The resumed agent no longer offers ${removed.length === 1 ? 'the tool' : 'the tools'} ` +
        `${removed.map((name) => `"${name}"`).join(', ')}, which this conversation already uses. ` +
        'Add them back to the agent (tools may be added on resume, never removed).',
    );
  }

  static override isInstance(value: unknown): value is ToolsRemovedError {
    return isFerryErrorNamed(value, 'ToolsRemovedError');
  }

  protected override details() {
    return { removed: [...this.removed] };
  }
}
