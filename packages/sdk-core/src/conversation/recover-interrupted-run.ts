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

/**
 * True when the log of a conversation found `running` shows that its run had already ended:
 * its last step is the agent's reply without tool calls, or observations of which one came
 * from a tool that ends runs (`finish`). The process then died between the step's events and
 * the `finished` status; the run must not be continued, or the agent would finish twice.
 * Reads back from the end past `ConversationStateUpdateEvent`s (stats, status) only.
 */
export function runEndedBeforeCrash(
  live: { readonly length: number; at(index: number): StoredEvent | undefined },
  endsRun: (toolName: string) => boolean,
): boolean {
  let index = live.length - 1;
  while (live.at(index)?.kind === 'ConversationStateUpdateEvent') index -= 1;
  const last = live.at(index);
  if (last === undefined) return false;
  if (last.kind === 'MessageEvent') return last.source === 'agent';
  // The answers of one step are appended together, after its actions.
  for (let event = live.at(index); event !== undefined; event = live.at(--index)) {
    if (!ANSWER_KINDS.has(event.kind)) return false;
    if (
      event.kind === 'ObservationEvent' &&
      typeof event.tool_name === 'string' &&
      endsRun(event.tool_name)
    ) {
      return true;
    }
  }
  return false;
}
