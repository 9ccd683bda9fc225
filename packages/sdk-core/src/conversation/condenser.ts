import type { LLMSummarizingCondenser } from '../agent/agent-schema';
import { condensedView } from '../agent/build-messages';
import { contentToText, type MessageContent } from '../event/content';
import { newEventEnvelope } from '../event/event-base';
import type { Condensation, Event } from '../event/event-schemas';
import type { AnyEvent } from '../event/parse-event';
import { callLLM, type LanguageModelFactory, type LLMUsage } from '../llm/call-llm';

const ANSWER_KINDS = new Set(['ObservationEvent', 'AgentErrorEvent', 'UserRejectObservation']);

/** Which events a condensation forgets. */
export interface CondensationPlan {
  forgotten: Event[];
  /** Where the summary goes among the visible events (after the kept head). */
  summaryOffset: number;
  previousSummary?: string;
}

/**
 * Plans a condensation when the LLM's view has grown past `max_size` (or always with
 * `force`): keep the first `keep_first` events and a tail, so the view drops to about half of
 * `max_size`; forget the middle. The tail never starts with a tool result, so an action and
 * its result are kept or forgotten together. `undefined` when there is nothing to forget.
 */
export function planCondensation(
  events: Iterable<AnyEvent>,
  condenser: Pick<LLMSummarizingCondenser, 'max_size' | 'keep_first'>,
  options: { force?: boolean } = {},
): CondensationPlan | undefined {
  const { visible, summary } = condensedView(events);
  if (!options.force && visible.length <= condenser.max_size) return undefined;
  let head = Math.min(condenser.keep_first, visible.length);
  let tailStart: number;
  if (options.force) {
    // Forced (e.g. the provider said the prompt is too long): forget about half of what follows the head.
    head = Math.min(head, Math.max(1, Math.floor(visible.length / 4)));
    tailStart = Math.max(
      head + 1,
      visible.length - Math.max(1, Math.floor((visible.length - head) / 2)),
    );
  } else {
    const target = Math.max(head + 1, Math.floor(condenser.max_size / 2));
    tailStart = Math.max(head, visible.length - (target - head - 1));
  }
  while (tailStart < visible.length && ANSWER_KINDS.has((visible[tailStart] as Event).kind))
    tailStart += 1;
  const forgotten = visible.slice(head, tailStart);
  if (forgotten.length === 0) return undefined;
  return { forgotten, summaryOffset: head, ...(summary ? { previousSummary: summary.text } : {}) };
}

function describe(event: Event): string {
  switch (event.kind) {
    case 'MessageEvent':
      return `${event.llm_message.role.toUpperCase()}: ${contentToText(event.llm_message.content)}`;
    case 'ActionEvent':
      return `ACTION ${event.tool_name}: ${event.tool_call.arguments}`;
    case 'ObservationEvent': {
      const content = event.observation.content;
      const text = Array.isArray(content)
        ? contentToText(content as MessageContent[])
        : JSON.stringify(content);
      return `RESULT of ${event.tool_name}: ${text.length > 2000 ? `${text.slice(0, 2000)}…` : text}`;
    }
    case 'AgentErrorEvent':
      return `ERROR in ${event.tool_name}: ${event.error}`;
    case 'UserRejectObservation':
      return `REJECTED ${event.tool_name}: ${event.rejection_reason}`;
    case 'CondensationSummaryEvent':
      return `SUMMARY: ${event.summary}`;
    default:
      return event.kind;
  }
}

/** The instruction the condenser's LLM gets. */
export const CONDENSER_PROMPT =
  "You maintain a running summary of an AI agent's work so it can continue without the full history. " +
  "Summarise the events below (and the previous summary, if any): the user's goals, what was done, " +
  'files changed, commands run and their outcomes, errors, and what remains. Be concise and factual.';

/**
 * Summarises the forgotten events with the condenser's LLM and returns the `Condensation`
 * event to append, with the usage to record under the condenser's `usage_id`.
 */
export async function condense(
  plan: CondensationPlan,
  condenser: LLMSummarizingCondenser,
  options: {
    signal?: AbortSignal | undefined;
    languageModel?: LanguageModelFactory | undefined;
  } = {},
): Promise<{ event: Condensation; usage: LLMUsage }> {
  const body = [
    plan.previousSummary ? `PREVIOUS SUMMARY:\n${plan.previousSummary}\n` : '',
    'EVENTS:',
    ...plan.forgotten.map(describe),
  ].join('\n');
  const result = await callLLM({
    llm: condenser.llm,
    system: CONDENSER_PROMPT,
    messages: [{ role: 'user', content: body }],
    tools: [],
    ...(options.signal ? { signal: options.signal } : {}),
    languageModel: options.languageModel,
  });
  const event: Condensation = {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'Condensation',
    forgotten_event_ids: plan.forgotten.map((event) => event.id),
    summary: result.text,
    summary_offset: plan.summaryOffset,
    llm_response_id: result.responseId ?? `ferry-${newEventEnvelope().id}`,
  };
  return { event, usage: result.usage };
}
