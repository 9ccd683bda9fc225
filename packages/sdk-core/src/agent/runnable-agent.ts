import { UnsupportedKindError } from '../errors/unsupported-kind-error';
import type { Agent } from './agent-schema';

/** Agent kinds a conversation runs. */
export const RUNNABLE_AGENT_KINDS: readonly string[] = ['Agent'];
/** Condenser kinds a conversation runs (`NoOpCondenser` means none). */
export const RUNNABLE_CONDENSER_KINDS: readonly string[] = [
  'LLMSummarizingCondenser',
  'NoOpCondenser',
];

/**
 * Throws {@link UnsupportedKindError} for an agent a conversation could not run as asked: one of
 * another kind, or with a condenser of a kind it does not know (which it would silently skip).
 */
export function assertRunnableAgent(agent: Pick<Agent, 'kind' | 'condenser'>): void {
  if (!RUNNABLE_AGENT_KINDS.includes(agent.kind)) {
    throw new UnsupportedKindError('agent', agent.kind, RUNNABLE_AGENT_KINDS);
  }
  const condenser = agent.condenser;
  if (condenser !== undefined && condenser !== null) {
    if (!RUNNABLE_CONDENSER_KINDS.includes(condenser.kind)) {
      throw new UnsupportedKindError('condenser', condenser.kind, RUNNABLE_CONDENSER_KINDS);
    }
  }
}
