import { buildLLMContext, providerIdentity, type AnyEvent, type Agent } from '@ferry/sdk-core';

/** Ids that occur more than once in the log. */
export function duplicateIds(events: Iterable<AnyEvent>): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const event of events) {
    if (seen.has(event.id)) duplicates.push(event.id);
    seen.add(event.id);
  }
  return duplicates;
}

/** Actions of the log without a recorded answer (observation, error or rejection). */
export function unansweredActions(events: readonly AnyEvent[]): string[] {
  const answered = new Set<string>();
  for (const event of events) {
    if (
      event.kind === 'ObservationEvent' ||
      event.kind === 'AgentErrorEvent' ||
      event.kind === 'UserRejectObservation'
    ) {
      answered.add((event as { tool_call_id: string }).tool_call_id);
    }
  }
  return events
    .filter((event) => event.kind === 'ActionEvent')
    .map((event) => (event as { tool_call_id: string }).tool_call_id)
    .filter((callId) => !answered.has(callId));
}

/**
 * Problems that would make the history invalid for an LLM: a tool call of the built context
 * that is not followed by its result, and, with `recordedAnswers`, an action of the log whose
 * answer is not recorded (the context would stand in a "not executed" note for it).
 */
export function historyProblems(
  events: readonly AnyEvent[],
  agent: Agent,
  options: { recordedAnswers: boolean } = { recordedAnswers: true },
): string[] {
  const problems: string[] = [];
  if (options.recordedAnswers) {
    for (const callId of unansweredActions(events)) problems.push(`action ${callId} has no answer`);
  }
  const context = buildLLMContext({ events, agent, provider: providerIdentity(agent.llm) });
  const messages = context.messages;
  messages.forEach((message, index) => {
    if (message.role !== 'assistant' || typeof message.content === 'string') return;
    const calls = message.content.filter((part) => part.type === 'tool-call');
    if (calls.length === 0) return;
    const next = messages[index + 1];
    const results =
      next?.role === 'tool' ? next.content.filter((part) => part.type === 'tool-result') : [];
    for (const call of calls) {
      if (!results.some((result) => result.toolCallId === call.toolCallId))
        problems.push(`tool call ${call.toolCallId} is not followed by its result`);
    }
  });
  return problems;
}
