import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentSchema } from './agent/agent-schema';
import { conversationStateSchema } from './conversation/state-schema';
import { isKnownEvent, parseEvent } from './event/parse-event';
import { parseTimestamp } from './event/event-base';

const fixtures = new URL('../fixtures/openhands/', import.meta.url);
const baseState = JSON.parse(
  readFileSync(new URL('base_state.v1_11_5.json', fixtures), 'utf8'),
) as unknown;
const events = readFileSync(new URL('events.sample.jsonl', fixtures), 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as unknown);

/** Every field of `original` is in `copy` with an equal value (defaults may add fields). */
function expectKeepsEveryField(original: unknown, copy: unknown, path = '$'): void {
  if (original !== null && typeof original === 'object' && !Array.isArray(original)) {
    expect(copy, path).toBeTypeOf('object');
    for (const [key, value] of Object.entries(original)) {
      expect(copy, `${path} lost ${key}`).toHaveProperty([key]);
      expectKeepsEveryField(value, (copy as Record<string, unknown>)[key], `${path}.${key}`);
    }
  } else if (Array.isArray(original)) {
    expect(Array.isArray(copy), path).toBe(true);
    expect((copy as unknown[]).length, path).toBe(original.length);
    original.forEach((item, index) =>
      expectKeepsEveryField(item, (copy as unknown[])[index], `${path}[${index}]`),
    );
  } else {
    expect(copy, path).toEqual(original);
  }
}

describe('OpenHands documents', () => {
  it('parse a persisted OpenHands base_state.json and write it back without losing a field', () => {
    const state = conversationStateSchema.parse(baseState);
    expect(state.agent.kind).toBe('Agent');
    expect(state.agent.llm.usage_id).toBe('test-llm');
    expect(state.agent.condenser?.kind).toBe('LLMSummarizingCondenser');
    expect(state.execution_status).toBe('idle');
    const written = JSON.parse(JSON.stringify(state)) as unknown;
    expectKeepsEveryField(baseState, written);
    // unknown fields such as agent_state and openrouter_site_url survive
    expect(written).toMatchObject({
      agent_state: {},
      agent: { llm: { openrouter_app_name: 'OpenHands' } },
    });
  });

  it('parse persisted OpenHands events and write them back without losing a field', () => {
    expect(events.length).toBeGreaterThan(5);
    for (const raw of events) {
      const event = parseEvent(raw);
      expect(isKnownEvent(event)).toBe(true);
      expectKeepsEveryField(raw, JSON.parse(JSON.stringify(event)));
    }
    const action = parseEvent(events.find((e) => (e as { kind: string }).kind === 'ActionEvent'));
    if (!isKnownEvent(action) || action.kind !== 'ActionEvent')
      throw new Error('expected an ActionEvent');
    expect(action.action?.kind).toBe('TerminalAction');
    expect(action.tool_call.name).toBe('terminal');
  });

  it('reads zone-less OpenHands timestamps as UTC', () => {
    expect(parseTimestamp('2026-06-16T05:39:18.809928')).toBe(
      Date.parse('2026-06-16T05:39:18.809Z'),
    );
  });

  it('keeps an event of an unknown kind as an opaque event', () => {
    const raw = {
      id: 'e1',
      timestamp: '2026-01-01T00:00:00Z',
      source: 'agent',
      kind: 'FutureEvent',
      payload: { a: 1 },
    };
    const event = parseEvent(raw);
    expect(isKnownEvent(event)).toBe(false);
    expect(JSON.parse(JSON.stringify(event))).toEqual(raw);
  });

  it('rejects a known event with a wrong field, naming the field', () => {
    const bad = {
      id: 'e1',
      timestamp: '2026-01-01T00:00:00Z',
      source: 'agent',
      kind: 'AgentErrorEvent',
      error: 42,
    };
    expect(() => parseEvent(bad)).toThrow(/error/);
  });

  it('fills agent defaults like OpenHands', () => {
    const agent = agentSchema.parse({ llm: { model: 'openai/gpt-4.1-mini' } });
    expect(agent.kind).toBe('Agent');
    expect(agent.include_default_tools).toEqual(['FinishTool', 'ThinkTool']);
    expect(agent.llm.usage_id).toBe('default');
  });
});
