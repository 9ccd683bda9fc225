import type {
  AssistantModelMessage,
  ModelMessage,
  TextPart,
  ToolCallPart,
  ToolResultPart,
} from 'ai';
import { contentToText, type MessageContent } from '../event/content';
import type { ActionEvent, Event } from '../event/event-schemas';
import { isKnownEvent, type AnyEvent } from '../event/parse-event';
import type { Agent } from './agent-schema';
import { keywordSkills, renderSystemPrompt } from './system-prompt';

/** What the next LLM call sends: the system prompt and the message history. */
export interface LLMContext {
  system: string;
  messages: ModelMessage[];
  /** Names of the keyword-triggered skills that matched user messages. */
  activatedSkills: string[];
}

/** Options of {@link buildLLMContext}. */
export interface BuildLLMContextOptions {
  /** The conversation's events, in order. */
  events: Iterable<AnyEvent>;
  /** The current agent: its prompts and context apply to the whole history. */
  agent: Agent;
  /**
   * Identity of the provider the messages go to (see `providerIdentity`). Provider-bound fields
   * (thinking signatures, encrypted reasoning) are sent only to the provider that made them.
   */
  provider: string;
}

type ReasoningPart = Extract<
  Exclude<AssistantModelMessage['content'], string>[number],
  { type: 'reasoning' }
>;

/** The text the LLM sees for a tool call that never got a result. */
export const MISSING_RESULT_TEXT = 'No result: this action was not executed.';

type ReasoningCarrier = {
  llm_provider?: unknown;
  reasoning_content?: string | null | undefined;
  thinking_blocks?: unknown;
  reasoning_parts?: unknown;
};

/** Reasoning to replay to the provider that produced it (never to another one). */
function reasoningFor(event: ReasoningCarrier, provider: string): ReasoningPart[] {
  if (event.llm_provider !== provider) return [];
  if (Array.isArray(event.reasoning_parts)) {
    return event.reasoning_parts.flatMap((part: unknown) => {
      if (
        typeof part !== 'object' ||
        part === null ||
        typeof (part as { text?: unknown }).text !== 'string'
      )
        return [];
      const { text, providerOptions } = part as {
        text: string;
        providerOptions?: ReasoningPart['providerOptions'];
      };
      return [
        { type: 'reasoning' as const, text, ...(providerOptions ? { providerOptions } : {}) },
      ];
    });
  }
  return event.reasoning_content ? [{ type: 'reasoning', text: event.reasoning_content }] : [];
}

function parseArguments(raw: string): unknown {
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

function textParts(content: readonly MessageContent[]): TextPart[] {
  const text = contentToText(content);
  return text ? [{ type: 'text', text }] : [];
}

type Answer = Extract<
  Event,
  { kind: 'ObservationEvent' | 'AgentErrorEvent' | 'UserRejectObservation' }
>;

function answerText(answer: Answer | undefined): string {
  if (answer === undefined) return MISSING_RESULT_TEXT;
  switch (answer.kind) {
    case 'ObservationEvent': {
      const content = answer.observation.content;
      const text = Array.isArray(content)
        ? contentToText(content as MessageContent[])
        : typeof content === 'string'
          ? content
          : JSON.stringify(content ?? '');
      return answer.observation.is_error === true ? `ERROR: ${text}` : text;
    }
    case 'AgentErrorEvent':
      return `ERROR: ${answer.error}`;
    case 'UserRejectObservation':
      return `Action rejected by the ${answer.rejection_source}: ${answer.rejection_reason}`;
  }
}

/** Event kinds that become messages for the LLM. */
const VISIBLE_KINDS: ReadonlySet<string> = new Set([
  'MessageEvent',
  'ActionEvent',
  'ObservationEvent',
  'AgentErrorEvent',
  'UserRejectObservation',
  'CondensationSummaryEvent',
]);

/** The latest condensation's summary and where it stands among the visible events. */
export interface CondensedView {
  /** The events the LLM sees, in order (forgotten ones left out). */
  visible: Event[];
  summary?: { text: string; offset: number };
}

/**
 * Applies condensations: forgotten events are left out and the latest summary stands in for
 * them at its offset among the visible events. The log itself keeps everything.
 */
export function condensedView(events: Iterable<AnyEvent>): CondensedView {
  const all = [...events];
  const forgotten = new Set<string>();
  let summary: { text: string; offset: number } | undefined;
  for (const event of all) {
    if (isKnownEvent(event) && event.kind === 'Condensation') {
      for (const id of event.forgotten_event_ids) forgotten.add(id);
      if (event.summary) summary = { text: event.summary, offset: event.summary_offset ?? 0 };
    }
  }
  const visible = all.filter(
    (event): event is Event =>
      isKnownEvent(event) && VISIBLE_KINDS.has(event.kind) && !forgotten.has(event.id),
  );
  return summary === undefined ? { visible } : { visible, summary };
}

/**
 * Turns the event log into what the next LLM call sends. Pure: same events and agent, same
 * result. The system prompt and skills come from the *current* agent. Every tool call is
 * answered right after the assistant message that made it (its observation, error or
 * rejection, or a "not executed" note), so the history is always valid for the provider.
 */
export function buildLLMContext(options: BuildLLMContextOptions): LLMContext {
  const { agent, provider } = options;
  const { visible: kept, summary } = condensedView(options.events);

  const answers = new Map<string, Answer>();
  for (const event of kept) {
    if (
      event.kind === 'ObservationEvent' ||
      event.kind === 'AgentErrorEvent' ||
      event.kind === 'UserRejectObservation'
    ) {
      if (!answers.has(event.tool_call_id)) answers.set(event.tool_call_id, event);
    }
  }
  const actionCallIds = new Set(
    kept
      .filter((event): event is ActionEvent => event.kind === 'ActionEvent')
      .map((event) => event.tool_call_id),
  );

  const skills = keywordSkills(agent);
  const activated = new Set<string>();
  const userSuffix = agent.agent_context?.user_message_suffix;
  const messages: ModelMessage[] = [];
  let counted = 0;
  let summaryPlaced = summary === undefined;

  const pushSummary = () => {
    if (!summaryPlaced && summary !== undefined && counted >= summary.offset) {
      summaryPlaced = true;
      messages.push({
        role: 'user',
        content: `Summary of the earlier conversation, which was condensed:\n${summary.text}`,
      });
    }
  };

  for (let index = 0; index < kept.length; index += 1) {
    pushSummary();
    const event = kept[index] as Event;
    counted += 1;
    switch (event.kind) {
      case 'MessageEvent': {
        const message = event.llm_message;
        if (message.role === 'user') {
          const parts: TextPart[] = textParts(message.content);
          for (const extra of event.extended_content)
            parts.push({ type: 'text', text: extra.text });
          const text = contentToText(message.content).toLowerCase();
          for (const { skill, keywords } of skills) {
            const keyword = keywords.find((word) => text.includes(word.toLowerCase()));
            if (keyword !== undefined && !activated.has(skill.name)) {
              activated.add(skill.name);
              parts.push({
                type: 'text',
                text: `<EXTRA_INFO>\nThe following information was added because the message mentions "${keyword}".\n${skill.content}\n</EXTRA_INFO>`,
              });
            }
          }
          if (userSuffix) parts.push({ type: 'text', text: userSuffix });
          if (parts.length > 0) messages.push({ role: 'user', content: parts });
        } else if (message.role === 'assistant') {
          const content = [
            ...reasoningFor({ ...event, ...message, llm_provider: event.llm_provider }, provider),
            ...textParts(message.content),
          ];
          if (content.length > 0) messages.push({ role: 'assistant', content });
        }
        break;
      }
      case 'ActionEvent': {
        // Consecutive actions of one LLM response form one assistant message.
        const group: ActionEvent[] = [event];
        while (index + 1 < kept.length) {
          const next = kept[index + 1] as Event;
          if (next.kind !== 'ActionEvent' || next.llm_response_id !== event.llm_response_id) break;
          group.push(next);
          index += 1;
          counted += 1;
        }
        const thought = group
          .map((action) => contentToText(action.thought))
          .find((text) => text.length > 0);
        const calls: ToolCallPart[] = group.map((action) => ({
          type: 'tool-call',
          toolCallId: action.tool_call_id,
          toolName: action.tool_name,
          input: parseArguments(action.tool_call.arguments),
        }));
        messages.push({
          role: 'assistant',
          content: [
            ...reasoningFor(event, provider),
            ...(thought ? [{ type: 'text' as const, text: thought }] : []),
            ...calls,
          ],
        });
        const results: ToolResultPart[] = group.map((action) => ({
          type: 'tool-result',
          toolCallId: action.tool_call_id,
          toolName: action.tool_name,
          output: { type: 'text', value: answerText(answers.get(action.tool_call_id)) },
        }));
        messages.push({ role: 'tool', content: results });
        break;
      }
      case 'AgentErrorEvent':
        // Errors that answer a tool call were placed with it; others are told as they happened.
        if (!actionCallIds.has(event.tool_call_id)) {
          messages.push({
            role: 'user',
            content: `Error from the agent framework: ${event.error}`,
          });
        }
        break;
      case 'CondensationSummaryEvent':
        messages.push({
          role: 'user',
          content: `Summary of the earlier conversation:\n${event.summary}`,
        });
        break;
      default:
        break;
    }
  }
  pushSummary();
  return { system: renderSystemPrompt(agent), messages, activatedSkills: [...activated] };
}
