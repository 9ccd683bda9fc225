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
export const VISIBLE_KINDS: ReadonlySet<string> = new Set([
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
  const all = Array.isArray(events) ? (events as readonly AnyEvent[]) : [...events];
  const forgotten = new Set<string>();
  let summary: { text: string; offset: number } | undefined;
  for (const event of all) {
    // The cheap kind test first: isKnownEvent (a set lookup) only for condensations.
    if (event.kind === 'Condensation' && isKnownEvent(event) && event.kind === 'Condensation') {
      for (const id of event.forgotten_event_ids) forgotten.add(id);
      if (event.summary) summary = { text: event.summary, offset: event.summary_offset ?? 0 };
    }
  }
  // Every visible kind is a known one; most histories forget nothing.
  const visible = all.filter(
    (event): event is Event =>
      VISIBLE_KINDS.has(event.kind) && (forgotten.size === 0 || !forgotten.has(event.id)),
  );
  return summary === undefined ? { visible } : { visible, summary };
}

/** What the messages emitted so far depend on, besides the events themselves. */
interface EmitState {
  messages: ModelMessage[];
  /** Keyword skills already added (each is added once, at its first matching user message). */
  activated: Set<string>;
  /** Visible events emitted so far (for where the condensation summary goes). */
  counted: number;
  summaryPlaced: boolean;
}

/** The facts of the whole history that the messages of one event depend on. */
interface EmitContext {
  agent: Agent;
  provider: string;
  skills: ReturnType<typeof keywordSkills>;
  summary: { text: string; offset: number } | undefined;
  /** The first answer (observation, error or rejection) of each tool call id. */
  answers: Map<string, Answer>;
  /** Tool call ids of the visible actions. */
  actionCallIds: Set<string>;
}

function isAnswer(event: Event): event is Answer {
  return (
    event.kind === 'ObservationEvent' ||
    event.kind === 'AgentErrorEvent' ||
    event.kind === 'UserRejectObservation'
  );
}

/** Adds the visible events' answers and action ids to the context. */
function indexAnswers(context: EmitContext, events: readonly Event[]): void {
  for (const event of events) {
    if (isAnswer(event)) {
      if (!context.answers.has(event.tool_call_id)) context.answers.set(event.tool_call_id, event);
    } else if (event.kind === 'ActionEvent') {
      context.actionCallIds.add(event.tool_call_id);
    }
  }
}

/**
 * Emits the messages of `kept[start..]` into `state`. `atBoundary(index)` is called before each
 * event that starts a message group, with `settled` true while every action emitted so far has
 * its answer (the messages so far can no longer change as the log grows).
 */
function emitMessages(
  kept: readonly Event[],
  start: number,
  context: EmitContext,
  state: EmitState,
  atBoundary?: (index: number, settled: boolean) => void,
): void {
  const { agent, provider, skills, summary, answers } = context;
  const userSuffix = agent.agent_context?.user_message_suffix;
  const { messages, activated } = state;
  let settled = true;

  const pushSummary = () => {
    if (!state.summaryPlaced && summary !== undefined && state.counted >= summary.offset) {
      state.summaryPlaced = true;
      messages.push({
        role: 'user',
        content: `Summary of the earlier conversation, which was condensed:\n${summary.text}`,
      });
    }
  };

  for (let index = start; index < kept.length; index += 1) {
    atBoundary?.(index, settled);
    pushSummary();
    const event = kept[index] as Event;
    state.counted += 1;
    switch (event.kind) {
      case 'MessageEvent': {
        const message = event.llm_message;
        if (message.role === 'user') {
          const parts: TextPart[] = textParts(message.content);
          for (const extra of event.extended_content)
            parts.push({ type: 'text', text: extra.text });
          // Lower-cased only when there are keyword skills to look for.
          const text = skills.length === 0 ? '' : contentToText(message.content).toLowerCase();
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
          state.counted += 1;
        }
        // Plain loops and pushes: this runs for every action when a long history is converted.
        const content: Exclude<AssistantModelMessage['content'], string> = reasoningFor(
          event,
          provider,
        );
        for (const action of group) {
          const thought = contentToText(action.thought);
          if (thought.length > 0) {
            content.push({ type: 'text', text: thought });
            break;
          }
        }
        for (const action of group) {
          content.push({
            type: 'tool-call',
            toolCallId: action.tool_call_id,
            toolName: action.tool_name,
            input: parseArguments(action.tool_call.arguments),
          } satisfies ToolCallPart);
        }
        messages.push({ role: 'assistant', content });
        const results: ToolResultPart[] = group.map((action) => {
          const answer = answers.get(action.tool_call_id);
          if (answer === undefined) settled = false;
          return {
            type: 'tool-result',
            toolCallId: action.tool_call_id,
            toolName: action.tool_name,
            output: { type: 'text', value: answerText(answer) },
          };
        });
        messages.push({ role: 'tool', content: results });
        break;
      }
      case 'AgentErrorEvent':
        // Errors that answer a tool call were placed with it; others are told as they happened.
        if (!context.actionCallIds.has(event.tool_call_id)) {
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
  // Actions appended later with the same response id would join the last group.
  atBoundary?.(kept.length, settled && kept.at(-1)?.kind !== 'ActionEvent');
  pushSummary();
}

function emitContext(agent: Agent, provider: string, summary: EmitContext['summary']): EmitContext {
  return {
    agent,
    provider,
    skills: keywordSkills(agent),
    summary,
    answers: new Map(),
    actionCallIds: new Set(),
  };
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
  const context = emitContext(agent, provider, summary);
  indexAnswers(context, kept);
  const state: EmitState = {
    messages: [],
    activated: new Set(),
    counted: 0,
    summaryPlaced: summary === undefined,
  };
  emitMessages(kept, 0, context, state);
  return {
    system: renderSystemPrompt(agent),
    messages: state.messages,
    activatedSkills: [...state.activated],
  };
}

/** The events a {@link LLMContextBuilder} reads: an array or a conversation's `EventList`. */
export interface LLMContextEvents {
  readonly length: number;
  at(index: number): AnyEvent | undefined;
  slice(start?: number, end?: number): AnyEvent[];
}

/** The builder's memory of the history it has read (see {@link LLMContextBuilder}). */
interface BuilderMemory {
  agent: Agent;
  provider: string;
  /** Events read from the source, and the id of the last one (to notice another history). */
  read: number;
  lastId: string | undefined;
  kept: Event[];
  context: EmitContext;
  /** Where the settled messages end: the kept index, and the state there. */
  checkpoint: { index: number; state: EmitState };
  /** Tool call ids of errors told as their own message (a later action with the id would change it). */
  toldErrorIds: Set<string>;
  system: string;
}

/**
 * Builds the next LLM call's context like {@link buildLLMContext}, with the same result, but
 * remembers the messages of the settled part of the history (every tool call answered) so that
 * a growing conversation only converts its new events. A condensation, another agent or
 * provider, or a history that is not an extension of the last one starts over.
 */
export class LLMContextBuilder {
  #memory: BuilderMemory | undefined;

  build(options: { events: LLMContextEvents; agent: Agent; provider: string }): LLMContext {
    const { events, agent, provider } = options;
    const memory = this.#extend(events, agent, provider) ?? this.#start(events, agent, provider);
    const base = memory.checkpoint;
    const state: EmitState = {
      messages: base.state.messages.slice(),
      activated: new Set(base.state.activated),
      counted: base.state.counted,
      summaryPlaced: base.state.summaryPlaced,
    };
    let settledAt: { index: number; length: number } & Omit<EmitState, 'messages'> = {
      index: base.index,
      length: state.messages.length,
      activated: state.activated,
      counted: state.counted,
      summaryPlaced: state.summaryPlaced,
    };
    emitMessages(memory.kept, base.index, memory.context, state, (index, settled) => {
      if (settled && index > settledAt.index) {
        settledAt = {
          index,
          length: state.messages.length,
          activated: new Set(state.activated),
          counted: state.counted,
          summaryPlaced: state.summaryPlaced,
        };
      }
    });
    if (settledAt.index > base.index) {
      const next = {
        index: settledAt.index,
        state: {
          messages: state.messages.slice(0, settledAt.length),
          activated: settledAt.activated,
          counted: settledAt.counted,
          summaryPlaced: settledAt.summaryPlaced,
        },
      };
      memory.checkpoint = next;
      for (let index = base.index; index < next.index; index += 1) {
        const event = memory.kept[index] as Event;
        if (
          event.kind === 'AgentErrorEvent' &&
          !memory.context.actionCallIds.has(event.tool_call_id)
        ) {
          memory.toldErrorIds.add(event.tool_call_id);
        }
      }
    }
    return {
      system: memory.system,
      messages: state.messages,
      activatedSkills: [...state.activated],
    };
  }

  /** Forgets everything read so far. */
  reset(): void {
    this.#memory = undefined;
  }

  #start(events: LLMContextEvents, agent: Agent, provider: string): BuilderMemory {
    const all = events.slice();
    const { visible, summary } = condensedView(all);
    const context = emitContext(agent, provider, summary);
    indexAnswers(context, visible);
    const memory: BuilderMemory = {
      agent,
      provider,
      read: all.length,
      lastId: all.at(-1)?.id,
      kept: visible,
      context,
      checkpoint: {
        index: 0,
        state: {
          messages: [],
          activated: new Set(),
          counted: 0,
          summaryPlaced: summary === undefined,
        },
      },
      toldErrorIds: new Set(),
      system: renderSystemPrompt(agent),
    };
    this.#memory = memory;
    return memory;
  }

  /** The memory extended with the new events, or undefined when it must start over. */
  #extend(events: LLMContextEvents, agent: Agent, provider: string): BuilderMemory | undefined {
    const memory = this.#memory;
    if (memory === undefined || memory.agent !== agent || memory.provider !== provider) return;
    if (events.length < memory.read) return;
    if (memory.read > 0 && events.at(memory.read - 1)?.id !== memory.lastId) return;
    const added = events.slice(memory.read);
    const visible: Event[] = [];
    for (const event of added) {
      if (!isKnownEvent(event)) continue;
      if (event.kind === 'Condensation') return;
      if (!VISIBLE_KINDS.has(event.kind)) continue;
      if (event.kind === 'ActionEvent' && memory.toldErrorIds.has(event.tool_call_id)) return;
      visible.push(event);
    }
    indexAnswers(memory.context, visible);
    memory.kept.push(...visible);
    memory.read = events.length;
    memory.lastId = events.at(-1)?.id ?? memory.lastId;
    return memory;
  }
}
