import type { AgentErrorEvent } from '../event/event-schemas';
import { newEventEnvelope } from '../event/event-base';
import type { StoredEvent } from '../persistence/stored-event';

const ANSWER_KINDS = new Set(['ObservationEvent', 'UserRejectObservation', 'AgentErrorEvent']);

/** The message the LLM sees for an action whose run was cut short by a crash. */
export const INTERRUPTED_RUN_ERROR =
  'The run was interrupted before this action finished (the process stopped). ' +
  'Its result is unknown: check the state of the workspace before relying on it.';

/** The message the LLM sees for an action of a failed run whose result could not be recorded. */
export const FAILED_RUN_ACTION_ERROR =
  "The run failed before this action's result was recorded (the disk refused writes). " +
  'Its result is unknown: check the state of the workspace before relying on it.';

/**
 * For a conversation found persisted as `running` (its process died mid-run): one
 * `AgentErrorEvent` for every action that has no observation, so the history stays valid for
 * the LLM. Pure: returns the events to append.
 */
export function answersForUnansweredActions(events: Iterable<StoredEvent>): AgentErrorEvent[] {
  return answersForInterruptedActions(events, INTERRUPTED_RUN_ERROR);
}

/** One `AgentErrorEvent` with `error` for every action of the log that has no answer. */
export function answersForInterruptedActions(
  events: Iterable<StoredEvent>,
  error: string,
): AgentErrorEvent[] {
  const answered = new Set<string>();
  const actions: StoredEvent[] = [];
  for (const event of events) {
    if (event.kind === 'ActionEvent') actions.push(event);
    else if (ANSWER_KINDS.has(event.kind) && typeof event.tool_call_id === 'string') {
      answered.add(event.tool_call_id);
    }
  }
  return actions
    .filter(
      (action) => typeof action.tool_call_id === 'string' && !answered.has(action.tool_call_id),
    )
    .map((action) => ({
      ...newEventEnvelope(),
      source: 'agent',
      kind: 'AgentErrorEvent',
      error,
      tool_name: typeof action.tool_name === 'string' ? action.tool_name : 'unknown',
      tool_call_id: action.tool_call_id as string,
    }));
}
