import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEvent, type AnyEvent } from '../event/parse-event';
import { parseAgent } from './agent-schema';
import { buildLLMContext, LLMContextBuilder } from './build-messages';

const agent = parseAgent({
  kind: 'Agent',
  llm: { model: 'openai/gpt-4.1-mini' },
  agent_context: {
    user_message_suffix: 'Be brief.',
    skills: [
      {
        name: 'git-help',
        content: 'Use git status.',
        trigger: { type: 'keyword', keywords: ['git'] },
      },
    ],
  },
});
const provider = 'openai';

/** One step of a history, drawn at random; call numbers refer to tool calls made so far. */
type Step =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'actions'; count: number; thought: string }
  | { kind: 'observation'; call: number; text: string }
  | { kind: 'error'; call: number; future: boolean }
  | { kind: 'reject'; call: number }
  | { kind: 'condensation'; forget: number; summary: string | null }
  | { kind: 'summary'; text: string }
  | { kind: 'state' }
  | { kind: 'unknown' };

const word = fc.constantFrom('fix', 'git', 'the', 'test', '', 'parser');
const text = fc.array(word, { maxLength: 4 }).map((words) => words.join(' '));
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: text.map((value) => ({ kind: 'user' as const, text: value })) },
  { weight: 1, arbitrary: text.map((value) => ({ kind: 'assistant' as const, text: value })) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('actions' as const),
      count: fc.integer({ min: 1, max: 3 }),
      thought: text,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('observation' as const), call: fc.nat(), text }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('error' as const),
      call: fc.nat(),
      future: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reject' as const), call: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('condensation' as const),
      forget: fc.nat({ max: 6 }),
      summary: fc.option(text, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: text.map((value) => ({ kind: 'summary' as const, text: value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'state' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unknown' as const }) },
);

function historyOf(steps: readonly Step[]): AnyEvent[] {
  const events: AnyEvent[] = [];
  const calls: string[] = [];
  let counter = 0;
  const base = (kind: string, source = 'agent') => {
    counter += 1;
    return { id: `event-${counter}`, timestamp: '2026-01-01T00:00:00Z', source, kind };
  };
  const callId = (call: number) => calls[call % Math.max(1, calls.length)] ?? 'call-none';
  for (const item of steps) {
    switch (item.kind) {
      case 'user':
      case 'assistant':
        events.push(
          parseEvent({
            ...base('MessageEvent', item.kind === 'user' ? 'user' : 'agent'),
            llm_message: { role: item.kind, content: [{ type: 'text', text: item.text }] },
          }),
        );
        break;
      case 'actions': {
        const response = `response-${counter}`;
        for (let index = 0; index < item.count; index += 1) {
          const id = `call-${calls.length}`;
          calls.push(id);
          events.push(
            parseEvent({
              ...base('ActionEvent'),
              thought: [{ type: 'text', text: index === 0 ? item.thought : '' }],
              action: { kind: 'ThinkAction', thought: 'x' },
              tool_name: 'think',
              tool_call_id: id,
              tool_call: { id, name: 'think', arguments: `{"n":${index}}`, origin: 'completion' },
              llm_response_id: response,
            }),
          );
        }
        break;
      }
      case 'observation':
        events.push(
          parseEvent({
            ...base('ObservationEvent', 'environment'),
            observation: { kind: 'ThinkObservation', content: [{ type: 'text', text: item.text }] },
            action_id: 'a',
            tool_name: 'think',
            tool_call_id: callId(item.call),
          }),
        );
        break;
      case 'error':
        events.push(
          parseEvent({
            ...base('AgentErrorEvent'),
            error: 'bad arguments',
            tool_name: 'think',
            // An id no action has yet: later actions may take it.
            tool_call_id: item.future
              ? `call-${calls.length + (item.call % 2)}`
              : callId(item.call),
          }),
        );
        break;
      case 'reject':
        events.push(
          parseEvent({
            ...base('UserRejectObservation', 'user'),
            action_id: 'a',
            tool_name: 'think',
            tool_call_id: callId(item.call),
          }),
        );
        break;
      case 'condensation':
        events.push(
          parseEvent({
            ...base('Condensation', 'environment'),
            forgotten_event_ids: events.slice(0, item.forget).map((event) => event.id),
            summary: item.summary,
            summary_offset: item.summary === null ? null : 1,
            llm_response_id: 'condensation',
          }),
        );
        break;
      case 'summary':
        events.push(parseEvent({ ...base('CondensationSummaryEvent'), summary: item.text }));
        break;
      case 'state':
        events.push(
          parseEvent({
            ...base('ConversationStateUpdateEvent', 'environment'),
            key: 'k',
            value: 1,
          }),
        );
        break;
      case 'unknown':
        events.push(parseEvent({ ...base('SomeFutureEvent'), payload: 1 }));
        break;
    }
  }
  return events;
}

describe('LLMContextBuilder', () => {
  it('builds exactly what buildLLMContext builds, at every point of a growing history', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.array(fc.nat({ max: 45 }), { maxLength: 12 }),
        (steps, cuts) => {
          const events = historyOf(steps);
          const builder = new LLMContextBuilder();
          const points = [...cuts.map((cut) => Math.min(cut, events.length)), events.length];
          points.sort((a, b) => a - b);
          for (const point of points) {
            const prefix = events.slice(0, point);
            expect(builder.build({ events: prefix, agent, provider })).toEqual(
              buildLLMContext({ events: prefix, agent, provider }),
            );
          }
        },
      ),
      { numRuns: 1000 },
    );
  }, 60_000);

  it('starts over for another history, agent or provider', () => {
    const events = historyOf([
      { kind: 'user', text: 'fix git' },
      { kind: 'actions', count: 2, thought: 'look' },
      { kind: 'observation', call: 0, text: 'a' },
      { kind: 'observation', call: 1, text: 'b' },
      { kind: 'user', text: 'next' },
    ]);
    const other = historyOf([{ kind: 'user', text: 'another conversation' }]);
    const builder = new LLMContextBuilder();
    builder.build({ events, agent, provider });
    expect(builder.build({ events: other, agent, provider })).toEqual(
      buildLLMContext({ events: other, agent, provider }),
    );
    const changed = parseAgent({ ...agent, agent_context: { user_message_suffix: 'Be long.' } });
    expect(builder.build({ events, agent: changed, provider: 'anthropic' })).toEqual(
      buildLLMContext({ events, agent: changed, provider: 'anthropic' }),
    );
  });
});
