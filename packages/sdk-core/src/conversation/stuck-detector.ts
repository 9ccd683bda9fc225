import { contentToText, type MessageContent } from '../event/content';
import { isKnownEvent, type AnyEvent } from '../event/parse-event';

/** When the stuck detector fires; each is a count of consecutive occurrences. */
export interface StuckThresholds {
  /** The same action with the same observation (default 4). */
  repeatedAction: number;
  /** The same action ending in an error (default 3). */
  repeatedError: number;
  /** Agent messages without a user message in between (default 3). */
  monologue: number;
  /** Steps of two actions alternating, A B A B ... (default 6). */
  alternation: number;
}

export const DEFAULT_STUCK_THRESHOLDS: StuckThresholds = {
  repeatedAction: 4,
  repeatedError: 3,
  monologue: 3,
  alternation: 6,
};

/** Why the agent looks stuck. */
export interface StuckVerdict {
  pattern: 'repeated_action' | 'repeated_error' | 'monologue' | 'alternation';
  detail: string;
}

interface Step {
  signature: string;
  outcome: string;
  error: boolean;
}

/** The steps (action + its answer) since the last user message. */
function recentSteps(events: readonly AnyEvent[]): { steps: Step[]; agentMessages: number } {
  let start = 0;
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const event = events[index];
    if (event && isKnownEvent(event) && event.kind === 'MessageEvent' && event.source === 'user') {
      start = index + 1;
      break;
    }
  }
  const steps: Step[] = [];
  const byCall = new Map<string, Step>();
  let agentMessages = 0;
  for (const event of events.slice(start)) {
    if (!isKnownEvent(event)) continue;
    switch (event.kind) {
      case 'ActionEvent': {
        const step = {
          signature: `${event.tool_name} ${event.tool_call.arguments}`,
          outcome: '',
          error: false,
        };
        steps.push(step);
        byCall.set(event.tool_call_id, step);
        break;
      }
      case 'ObservationEvent': {
        const step = byCall.get(event.tool_call_id);
        if (step) {
          const content = event.observation.content;
          step.outcome = Array.isArray(content)
            ? contentToText(content as MessageContent[])
            : JSON.stringify(content);
          step.error = event.observation.is_error === true;
        }
        break;
      }
      case 'AgentErrorEvent': {
        const step = byCall.get(event.tool_call_id);
        if (step) {
          step.outcome = event.error;
          step.error = true;
        }
        break;
      }
      case 'MessageEvent':
        if (event.source === 'agent') agentMessages += 1;
        break;
      default:
        break;
    }
  }
  return { steps, agentMessages };
}

function tailRun<T>(items: readonly T[], same: (a: T, b: T) => boolean): number {
  const last = items.at(-1);
  if (last === undefined) return 0;
  let count = 0;
  for (let index = items.length - 1; index >= 0 && same(items[index] as T, last); index -= 1)
    count += 1;
  return count;
}

/**
 * Looks at the events since the last user message for the patterns of an agent going in
 * circles. Pure; `undefined` when nothing looks stuck.
 */
export function detectStuck(
  events: readonly AnyEvent[],
  thresholds: StuckThresholds = DEFAULT_STUCK_THRESHOLDS,
): StuckVerdict | undefined {
  const { steps, agentMessages } = recentSteps(events);
  const repeatedErrors = steps.at(-1)?.error
    ? tailRun(steps, (a, b) => a.error && b.error && a.signature === b.signature)
    : 0;
  if (repeatedErrors >= thresholds.repeatedError) {
    return {
      pattern: 'repeated_error',
      detail: `the same action failed ${repeatedErrors} times in a row`,
    };
  }
  const repeated = tailRun(steps, (a, b) => a.signature === b.signature && a.outcome === b.outcome);
  if (repeated >= thresholds.repeatedAction) {
    return {
      pattern: 'repeated_action',
      detail: `the same action gave the same result ${repeated} times in a row`,
    };
  }
  if (agentMessages >= thresholds.monologue && steps.length === 0) {
    return { pattern: 'monologue', detail: `${agentMessages} agent messages without user input` };
  }
  const n = thresholds.alternation;
  if (steps.length >= n) {
    const tail = steps.slice(-n);
    const [a, b] = tail;
    if (
      a &&
      b &&
      a.signature !== b.signature &&
      tail.every((step, index) => step.signature === (index % 2 === 0 ? a : b).signature)
    ) {
      return { pattern: 'alternation', detail: `two actions alternated ${n} times` };
    }
  }
  return undefined;
}

/** The message the LLM gets the first time it looks stuck. */
export const STUCK_NUDGE =
  'You seem to be repeating yourself without making progress. Stop, reconsider the approach, and try ' +
  'something different — or call finish and explain what is blocking you.';
