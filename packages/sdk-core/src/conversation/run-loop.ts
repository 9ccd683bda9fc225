import { z } from 'zod';
import {
  llmSummarizingCondenserSchema,
  type Agent,
  type LLMSummarizingCondenser,
} from '../agent/agent-schema';
import type { LLMContextBuilder } from '../agent/build-messages';
import { LLMContextWindowError } from '../errors/llm-context-window-error';
import { FerryError } from '../errors/ferry-error';
import { newEventEnvelope } from '../event/event-base';
import type {
  ActionEvent,
  AgentErrorEvent,
  ConversationErrorEvent,
  Event,
  MessageEvent,
  ObservationEvent,
} from '../event/event-schemas';
import type { AnyEvent } from '../event/parse-event';
import {
  callLLM,
  providerIdentity,
  type LanguageModelFactory,
  type LLMCallResult,
  type LLMToolCall,
} from '../llm/call-llm';
import type { FileStore } from '../persistence/file-store';
import type { ToolDefinition, ToolResult } from '../tool/tool-definition';
import type { ToolRegistry } from '../tool/tool-registry';
import { splitAnnotations, toolInputJsonSchema } from '../tool/tool-schema';
import { condense, planCondensation } from './condenser';
import { needsConfirmation } from './confirmation';
import type { EventList } from './event-list';
import type { ConversationState, ExecutionStatus } from './state-schema';
import type { UsageRecord } from './stats';
import { STUCK_NUDGE, detectStuck, type StuckThresholds } from './stuck-detector';

/** What the run loop needs from its conversation. */
export interface RunHost {
  readonly id: string;
  readonly agent: Agent;
  readonly liveState: ConversationState;
  readonly workspace: { readonly kind: string; readonly workingDir: string };
  readonly store: FileStore;
  eventsSnapshot(): EventList;
  /** Builds the next request's context, converting only the events it has not seen settled. */
  readonly contextBuilder: LLMContextBuilder;
  appendEvents(events: readonly Event[]): Promise<void>;
  setStatus(status: ExecutionStatus, extra?: Partial<ConversationState>): Promise<void>;
  recordUsageInMemory(usage: UsageRecord): void;
  /** A `ConversationStateUpdateEvent` with the current stats, appended with the step's actions. */
  statsEvent(): Event;
  maskSecrets: (text: string) => string;
  /** The secrets a command mentions, as environment variables (for the terminal). */
  secretEnv?: ((command: string) => Record<string, string>) | undefined;
  pauseRequested(): boolean;
  onTextDelta?: ((delta: string) => void) | undefined;
  /** Thresholds of the stuck detector (used when the state's `stuck_detection` is on). */
  stuckThresholds: StuckThresholds;
  /** Makes the model of an LLM document instead of Ferry's routing. */
  languageModel?: LanguageModelFactory | undefined;
}

/** Controls of one `run()`. */
export interface RunControls {
  tools: ToolRegistry;
  /** Aborted by `interrupt()`. */
  signal: AbortSignal;
  /** The run starts by executing the actions held for confirmation (they were accepted). */
  executePending?: boolean;
  /** Tools offered without being named in the agent (its MCP servers' tools). */
  autoTools?: readonly ToolDefinition[];
}

/** The sender name of the stuck detector's nudge message. */
export const STUCK_NUDGE_SENDER = 'ferry-stuck-detector';

/** The text a tool call's error event carries when the run was interrupted. */
export const INTERRUPTED_ACTION_ERROR =
  'The action was interrupted by the user before it finished.';

function agentError(
  action: { tool_name: string; tool_call_id: string },
  error: string,
): AgentErrorEvent {
  return {
    ...newEventEnvelope(),
    source: 'agent',
    kind: 'AgentErrorEvent',
    error,
    tool_name: action.tool_name,
    tool_call_id: action.tool_call_id,
  };
}

function conversationError(code: string, detail: string): ConversationErrorEvent {
  return {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'ConversationErrorEvent',
    code,
    detail,
  };
}

interface PlannedCall {
  action: ActionEvent;
  tool?: ToolDefinition;
  args?: Record<string, unknown>;
  error?: string;
}

/** Validates one tool call; invalid ones are answered with an error the LLM can read. */
function planCall(
  call: LLMToolCall,
  tools: Map<string, ToolDefinition>,
): Omit<PlannedCall, 'action'> {
  const tool = tools.get(call.name);
  if (tool === undefined) {
    return {
      error: `Tool "${call.name}" does not exist. Available tools: ${[...tools.keys()].join(', ')}.`,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(call.arguments === '' ? '{}' : call.arguments);
  } catch (error) {
    return {
      tool,
      error: `The arguments of the "${call.name}" call are not valid JSON (${String(error)}): ${call.arguments}`,
    };
  }
  const { toolArgs } = splitAnnotations(
    typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {},
  );
  const parsed = tool.parameters.safeParse(toolArgs);
  if (!parsed.success) {
    return {
      tool,
      error: `Invalid arguments for "${call.name}":\n${z.prettifyError(parsed.error)}`,
    };
  }
  return { tool, args: parsed.data };
}

interface ReadyCall {
  action: ActionEvent;
  tool: ToolDefinition;
  args: Record<string, unknown>;
}

/** Actions in the log without an answer, ready to execute (those held for confirmation). */
export function pendingActions(events: Iterable<AnyEvent>, tools: ToolRegistry): ReadyCall[] {
  const answered = new Set<string>();
  const actions: ActionEvent[] = [];
  for (const event of events) {
    if (event.kind === 'ActionEvent') actions.push(event as ActionEvent);
    else if (
      (event.kind === 'ObservationEvent' ||
        event.kind === 'AgentErrorEvent' ||
        event.kind === 'UserRejectObservation') &&
      typeof event.tool_call_id === 'string'
    ) {
      answered.add(event.tool_call_id);
    }
  }
  return actions.flatMap((action) => {
    if (answered.has(action.tool_call_id) || !action.action) return [];
    const tool = tools.get(action.tool_name);
    if (tool === undefined) return [];
    const { kind: _kind, ...raw } = action.action;
    const parsed = tool.parameters.safeParse(raw);
    return parsed.success ? [{ action, tool, args: parsed.data }] : [];
  });
}

function actionEvent(
  call: LLMToolCall,
  planned: Omit<PlannedCall, 'action'>,
  result: LLMCallResult,
  thought: string,
): ActionEvent {
  let annotations: ReturnType<typeof splitAnnotations>['annotations'] = {};
  try {
    annotations = splitAnnotations(
      JSON.parse(call.arguments) as Record<string, unknown>,
    ).annotations;
  } catch {
    // invalid JSON: no annotations
  }
  return {
    ...newEventEnvelope(),
    source: 'agent',
    kind: 'ActionEvent',
    thought: thought ? [{ type: 'text', text: thought }] : [],
    reasoning_content: result.reasoning ?? null,
    thinking_blocks: [],
    action:
      planned.tool && planned.args ? { ...planned.args, kind: planned.tool.actionKind } : null,
    tool_name: call.name,
    tool_call_id: call.id,
    tool_call: { id: call.id, name: call.name, arguments: call.arguments, origin: 'completion' },
    llm_response_id: result.responseId ?? `ferry-${newEventEnvelope().id}`,
    security_risk: annotations.security_risk ?? 'UNKNOWN',
    ...(annotations.summary === undefined ? {} : { summary: annotations.summary }),
    llm_provider: result.provider,
    ...(result.reasoningParts.length > 0 ? { reasoning_parts: result.reasoningParts } : {}),
  };
}

function observationEvent(
  action: ActionEvent,
  tool: ToolDefinition,
  result: ToolResult,
  mask: (text: string) => string,
): ObservationEvent {
  const content =
    typeof result.content === 'string'
      ? [{ type: 'text' as const, text: mask(result.content) }]
      : result.content.map((part) => ({ ...part, text: mask(part.text) }));
  return {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'ObservationEvent',
    observation: {
      ...(result.fields ?? {}),
      kind: tool.observationKind,
      content,
      is_error: result.isError ?? false,
    },
    action_id: action.id,
    tool_name: action.tool_name,
    tool_call_id: action.tool_call_id,
  };
}

/**
 * One agent step: LLM call, actions, execution, observations. Returns the status the step
 * ended in (`running` to continue). Every event is in the log before listeners hear of it; a
 * step makes at most two appends (actions with the stats update, then observations).
 */
export async function agentStep(host: RunHost, controls: RunControls): Promise<ExecutionStatus> {
  const agent = host.agent;
  const named = controls.tools.resolve(agent);
  const tools = [...named, ...(controls.autoTools ?? []).filter((tool) => !named.includes(tool))];
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const provider = providerIdentity(agent.llm);
  await maybeCondense(host, controls.signal, condensationRequested(host.eventsSnapshot()));
  const call = () => {
    const context = host.contextBuilder.build({ events: host.eventsSnapshot(), agent, provider });
    return callLLM({
      llm: agent.llm,
      system: context.system,
      messages: context.messages,
      tools: tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        inputSchema: toolInputJsonSchema(tool),
      })),
      signal: controls.signal,
      ...(host.onTextDelta ? { onTextDelta: host.onTextDelta } : {}),
      languageModel: host.languageModel,
    });
  };
  let result: LLMCallResult;
  try {
    result = await call();
  } catch (error) {
    // Too long for the provider: condense and try the step again instead of failing.
    if (
      !LLMContextWindowError.isInstance(error) ||
      !(await maybeCondense(host, controls.signal, true))
    ) {
      throw error;
    }
    result = await call();
  }
  host.recordUsageInMemory(result.usage);

  if (result.toolCalls.length === 0) {
    const reply: MessageEvent = {
      ...newEventEnvelope(),
      source: 'agent',
      kind: 'MessageEvent',
      llm_message: {
        role: 'assistant',
        content: [{ type: 'text', text: result.text }],
        reasoning_content: result.reasoning ?? null,
      },
      llm_response_id: result.responseId ?? null,
      activated_skills: [],
      extended_content: [],
      llm_provider: result.provider,
      ...(result.reasoningParts.length > 0 ? { reasoning_parts: result.reasoningParts } : {}),
    };
    await host.appendEvents([reply, host.statsEvent()]);
    return 'finished';
  }

  const planned: PlannedCall[] = result.toolCalls.map((call, index) => {
    const plan = planCall(call, byName);
    return { ...plan, action: actionEvent(call, plan, result, index === 0 ? result.text : '') };
  });
  await host.appendEvents([
    ...planned.flatMap((call) =>
      call.error === undefined ? [call.action] : [call.action, agentError(call.action, call.error)],
    ),
    host.statsEvent(),
  ]);

  const ready = planned.flatMap((call) =>
    call.error === undefined && call.tool !== undefined && call.args !== undefined
      ? [{ action: call.action, tool: call.tool, args: call.args }]
      : [],
  );
  const state = host.liveState;
  if (
    needsConfirmation(
      ready.map((call) => call.action),
      { policy: state.confirmation_policy, securityAnalyzer: state.security_analyzer },
    )
  ) {
    return 'waiting_for_confirmation';
  }
  return (await executeCalls(host, controls, ready)) ? 'finished' : 'running';
}

/** Executes tool calls in order and appends their observations; true when one ended the run. */
export async function executeCalls(
  host: RunHost,
  controls: RunControls,
  calls: readonly ReadyCall[],
): Promise<boolean> {
  const answers: Event[] = [];
  let finished = false;
  for (const call of calls) {
    if (controls.signal.aborted) {
      answers.push(agentError(call.action, INTERRUPTED_ACTION_ERROR));
      continue;
    }
    try {
      const output = await call.tool.execute(call.args, {
        conversationId: host.id,
        workspace: host.workspace,
        store: host.store,
        signal: controls.signal,
        toolCallId: call.action.tool_call_id,
        maskSecrets: host.maskSecrets,
        ...(host.secretEnv === undefined ? {} : { secretEnv: host.secretEnv }),
      });
      answers.push(observationEvent(call.action, call.tool, output, host.maskSecrets));
      if (call.tool.endsRun) finished = true;
    } catch (error) {
      answers.push(
        agentError(
          call.action,
          controls.signal.aborted
            ? INTERRUPTED_ACTION_ERROR
            : host.maskSecrets(
                `The tool "${call.tool.name}" failed: ${error instanceof Error ? error.message : String(error)}`,
              ),
        ),
      );
    }
  }
  if (answers.length > 0) await host.appendEvents(answers);
  return finished;
}

/** The condenser of the agent, or one on the agent's own LLM (for forced condensations). */
export function effectiveCondenser(
  agent: Agent,
  force: boolean,
): LLMSummarizingCondenser | undefined {
  const parsed = llmSummarizingCondenserSchema.safeParse(agent.condenser);
  if (parsed.success) return parsed.data;
  if (!force) return undefined;
  return llmSummarizingCondenserSchema.parse({
    kind: 'LLMSummarizingCondenser',
    llm: { ...agent.llm, usage_id: 'condenser' },
  });
}

/** How far {@link condensationRequested} has read each event list, and what it found. */
const condensationScans = new WeakMap<EventList, { read: number; requested: boolean }>();

/**
 * True when a `CondensationRequest` came after the last `Condensation`. Reads only the events
 * appended since its last call on the same list (the log only grows).
 */
function condensationRequested(events: EventList): boolean {
  let scan = condensationScans.get(events);
  if (scan === undefined || scan.read > events.length) scan = { read: 0, requested: false };
  for (let index = scan.read; index < events.length; index += 1) {
    const kind = events.at(index)?.kind;
    if (kind === 'CondensationRequest') scan.requested = true;
    else if (kind === 'Condensation') scan.requested = false;
  }
  scan.read = events.length;
  condensationScans.set(events, scan);
  return scan.requested;
}

/**
 * Writes a `Condensation` when the view is past the condenser's `max_size`, or always with
 * `force`. Returns true when one was written.
 */
export async function maybeCondense(
  host: RunHost,
  signal: AbortSignal,
  force: boolean,
): Promise<boolean> {
  const condenser = effectiveCondenser(host.agent, force);
  if (condenser === undefined) return false;
  const plan = planCondensation(host.eventsSnapshot(), condenser, { force });
  if (plan === undefined) return false;
  const { event, usage } = await condense(plan, condenser, {
    signal,
    languageModel: host.languageModel,
  });
  host.recordUsageInMemory(usage);
  await host.appendEvents([event, host.statsEvent()]);
  return true;
}

/** Records an unexpected failure of a run as a `ConversationErrorEvent` and status `error`. */
export async function failRun(host: RunHost, error: unknown): Promise<void> {
  const code = FerryError.isInstance(error) ? error.code : 'UnexpectedError';
  const detail = host.maskSecrets(error instanceof Error ? error.message : String(error));
  await host.appendEvents([conversationError(code, detail)]);
  await host.setStatus('error');
}

/**
 * Runs steps until the status leaves `running`: finished, paused (between steps or by
 * interrupt), error (failure or `max_iterations`).
 */
export async function runLoop(host: RunHost, controls: RunControls): Promise<ExecutionStatus> {
  let steps = 0;
  if (controls.executePending) {
    const finished = await executeCalls(
      host,
      controls,
      pendingActions(host.eventsSnapshot(), controls.tools),
    );
    if (finished) {
      await host.setStatus('finished');
      return 'finished';
    }
  }
  for (;;) {
    if (host.pauseRequested()) {
      await host.setStatus('paused');
      return 'paused';
    }
    if (steps >= host.liveState.max_iterations) {
      await host.appendEvents([
        conversationError(
          'MaxIterationsReached',
          `The agent reached the limit of ${host.liveState.max_iterations} steps in one run without finishing. ` +
            'Raise maxIterations, or send a message and run again.',
        ),
      ]);
      await host.setStatus('error');
      return 'error';
    }
    steps += 1;
    const status = await agentStep(host, controls);
    if (status !== 'running') {
      await host.setStatus(status);
      return status;
    }
    if (host.liveState.stuck_detection && (await checkStuck(host))) {
      await host.setStatus('stuck');
      return 'stuck';
    }
  }
}

/**
 * Runs the stuck detector after a step: the first time it fires since the last user message
 * the LLM gets a nudge; the next time the run stops (true) with a `ConversationErrorEvent`.
 */
async function checkStuck(host: RunHost): Promise<boolean> {
  // The patterns are in the last few steps: a bounded tail keeps a step's cost flat however
  // long the history (a step writes 3 or 4 events).
  const all = host.eventsSnapshot();
  const { repeatedAction, repeatedError, monologue, alternation } = host.stuckThresholds;
  const window = 20 * Math.max(repeatedAction, repeatedError, monologue, alternation) + 20;
  const events = all.slice(Math.max(0, all.length - window));
  const verdict = detectStuck(events, host.stuckThresholds);
  if (verdict === undefined) return false;
  let nudged = false;
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const event = events[index];
    if (event?.kind !== 'MessageEvent') continue;
    if (event.source === 'user') break;
    if ((event as MessageEvent).sender === STUCK_NUDGE_SENDER) {
      nudged = true;
      break;
    }
  }
  if (!nudged) {
    const nudge: MessageEvent = {
      ...newEventEnvelope(),
      source: 'environment',
      kind: 'MessageEvent',
      llm_message: {
        role: 'user',
        content: [{ type: 'text', text: `${STUCK_NUDGE} (${verdict.detail})` }],
      },
      activated_skills: [],
      extended_content: [],
      sender: STUCK_NUDGE_SENDER,
    };
    await host.appendEvents([nudge]);
    return false;
  }
  await host.appendEvents([
    conversationError(
      'StuckDetected',
      `The agent looks stuck: ${verdict.detail}. Send a message with new guidance and run again.`,
    ),
  ]);
  return true;
}
