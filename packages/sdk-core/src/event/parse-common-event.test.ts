import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventEnvelopeSchema } from './event-base';
import {
  imageContentSchema,
  messageSchema,
  messageToolCallSchema,
  textContentSchema,
} from './content';
import { actionSchema, knownEventSchema, observationSchema } from './event-schemas';
import { mirroredShapeKeys, parseCommonEvent } from './parse-common-event';
import { isKnownEventKind, parseEvent } from './parse-event';

type Entry = readonly [string, unknown];

/** A field that may be absent (`undefined` entry) or any of the given values. */
const maybe = (key: string, ...values: fc.Arbitrary<unknown>[]) =>
  fc.option(
    fc.oneof(...values).map((value): Entry => [key, value]),
    { nil: undefined },
  );
const field = (key: string, value: fc.Arbitrary<unknown>) =>
  value.map((item): Entry => [key, item]);

const text = fc.string({ maxLength: 8 });
const extras = fc.array(
  fc.tuple(
    fc.constantFrom('extra', 'meta', 'llm_provider', 'reasoning_parts', 'z', 'a'),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  { maxLength: 3 },
);

/** An object from entries in a random order, with unknown fields mixed in. */
function object(entries: fc.Arbitrary<(Entry | undefined)[]>): fc.Arbitrary<object> {
  return fc
    .tuple(entries, extras)
    .chain(([fields, more]) =>
      fc.shuffledSubarray([...fields.filter((entry) => entry !== undefined), ...more], {
        minLength: fields.filter((entry) => entry !== undefined).length + more.length,
      }),
    )
    .map((entries) => Object.fromEntries(entries) as object);
}

const textPart = object(fc.tuple(maybe('type', fc.constant('text')), field('text', text)));
const imagePart = object(
  fc.tuple(field('type', fc.constant('image')), field('image_urls', fc.array(text))),
);
const toolCall = object(
  fc.tuple(
    field('id', text),
    field('name', text),
    field('arguments', text),
    maybe('origin', fc.constantFrom('completion', 'responses')),
  ),
);
const kinded = object(fc.tuple(field('kind', fc.string({ minLength: 1, maxLength: 5 }))));
const nullishText = (key: string) => maybe(key, text, fc.constant(null));

const envelope = (kind: string) =>
  fc.tuple(
    field('id', fc.string({ minLength: 1, maxLength: 8 })),
    field(
      'timestamp',
      fc.constantFrom('2026-01-31T12:00:00.000Z', '2026-01-31T12:00:00.123456', '2026-01-31T12:00'),
    ),
    field('source', fc.constantFrom('user', 'agent', 'environment', 'hook')),
    field('kind', fc.constant(kind)),
  );

const message = object(
  fc.tuple(
    field('role', fc.constantFrom('user', 'system', 'assistant', 'tool')),
    maybe('content', fc.array(fc.oneof(textPart, imagePart), { maxLength: 3 })),
    maybe('tool_calls', fc.array(toolCall, { maxLength: 2 }), fc.constant(null)),
    nullishText('tool_call_id'),
    nullishText('name'),
    nullishText('reasoning_content'),
    maybe('thinking_blocks', fc.constant([])),
    maybe('responses_reasoning_item', fc.jsonValue({ maxDepth: 1 })),
  ),
);

/** Valid events of the kinds the fast parser handles. */
const commonEvent = fc.oneof(
  object(
    fc
      .tuple(
        envelope('MessageEvent'),
        fc.tuple(
          field('llm_message', message),
          nullishText('llm_response_id'),
          maybe('activated_skills', fc.array(text, { maxLength: 2 })),
          maybe('extended_content', fc.array(textPart, { maxLength: 2 })),
          nullishText('sender'),
        ),
      )
      .map(([base, rest]) => [...base, ...rest]),
  ),
  object(
    fc
      .tuple(
        envelope('ActionEvent'),
        fc.tuple(
          maybe('thought', fc.array(textPart, { maxLength: 2 })),
          nullishText('reasoning_content'),
          maybe('thinking_blocks', fc.constant([])),
          maybe('responses_reasoning_item', fc.jsonValue({ maxDepth: 1 })),
          maybe('action', kinded, fc.constant(null)),
          field('tool_name', text),
          field('tool_call_id', text),
          field('tool_call', toolCall),
          field('llm_response_id', text),
          maybe('security_risk', fc.constantFrom('UNKNOWN', 'LOW', 'MEDIUM', 'HIGH')),
          nullishText('summary'),
        ),
      )
      .map(([base, rest]) => [...base, ...rest]),
  ),
  object(
    fc
      .tuple(
        envelope('ObservationEvent'),
        fc.tuple(
          field('observation', kinded),
          field('action_id', text),
          field('tool_name', text),
          field('tool_call_id', text),
        ),
      )
      .map(([base, rest]) => [...base, ...rest]),
  ),
  object(
    fc
      .tuple(
        envelope('AgentErrorEvent'),
        fc.tuple(field('error', text), field('tool_name', text), field('tool_call_id', text)),
      )
      .map(([base, rest]) => [...base, ...rest]),
  ),
  object(
    fc
      .tuple(
        envelope('ConversationStateUpdateEvent'),
        fc.tuple(field('key', text), field('value', fc.jsonValue({ maxDepth: 2 }))),
      )
      .map(([base, rest]) => [...base, ...rest]),
  ),
);

const badValue = fc.oneof(
  fc.constantFrom(null, undefined, '', 0, 1.5, true, [], {}, 'not-a-date', 'robot', 'text'),
  fc.constant([{ type: 'thinking', thinking: 'x' }]),
  fc.constant([{ type: 'video' }]),
  fc.jsonValue({ maxDepth: 1 }),
);

/** Replaces the value at a random path of a JSON-like document. */
function mutate(value: unknown, path: readonly number[], replacement: unknown): unknown {
  if (typeof value !== 'object' || value === null) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0 || path.length === 0) return replacement;
  const key = keys[(path[0] ?? 0) % keys.length] as string;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...value }) as Record<
    string,
    unknown
  >;
  copy[key] = mutate(copy[key], path.slice(1), replacement);
  return copy;
}

/** `parseEvent` as it was before the fast path: zod only. */
function parseWithZod(value: unknown): unknown {
  const envelope = eventEnvelopeSchema.parse(value);
  if (!isKnownEventKind(envelope.kind)) return envelope;
  return knownEventSchema.parse(value);
}

/** What zod makes of the event: the fast parser must agree or give up. */
function expectSameAsZod(value: unknown): boolean {
  const fast = parseCommonEvent(value);
  const zod = knownEventSchema.safeParse(value);
  if (fast === undefined) return false;
  expect(zod.success).toBe(true);
  expect(fast).toStrictEqual(zod.data);
  // Same key order too, so a typed event serialises as it did.
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
  return true;
}

describe('parseCommonEvent', () => {
  it('mirrors every field of the schemas it stands in for (update both together)', () => {
    for (const [kind, keys] of mirroredShapeKeys.events) {
      const schema = knownEventSchema.options.find((option) => option.shape.kind.value === kind);
      expect(keys).toEqual(Object.keys(schema?.shape ?? {}));
    }
    expect(mirroredShapeKeys.textContent).toEqual(Object.keys(textContentSchema.shape));
    expect(mirroredShapeKeys.imageContent).toEqual(Object.keys(imageContentSchema.shape));
    expect(mirroredShapeKeys.messageToolCall).toEqual(Object.keys(messageToolCallSchema.shape));
    expect(mirroredShapeKeys.message).toEqual(Object.keys(messageSchema.shape));
    expect(mirroredShapeKeys.kindedDocument).toEqual(Object.keys(actionSchema.shape));
    expect(mirroredShapeKeys.kindedDocument).toEqual(Object.keys(observationSchema.shape));
  });

  it('gives exactly what the zod schemas give for every valid common event', () => {
    fc.assert(
      fc.property(commonEvent, (event) => {
        const copy = JSON.parse(JSON.stringify(event)) as unknown;
        expect(expectSameAsZod(copy)).toBe(true);
        expect(parseEvent(copy)).toStrictEqual(knownEventSchema.parse(copy));
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('returns an event already in its typed form as it is, and copies any other', () => {
    fc.assert(
      fc.property(commonEvent, (event) => {
        const typed = JSON.parse(JSON.stringify(parseWithZod(event))) as unknown;
        // What Ferry writes is its typed form: reading it back allocates nothing new.
        expect(parseCommonEvent(typed)).toBe(typed);
        const input = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
        const result = parseCommonEvent(input);
        if (result !== undefined && result !== input) {
          // A copy only where the typed form differs (a default filled in, keys reordered).
          expect(JSON.stringify(result)).not.toBe(JSON.stringify(input));
        }
      }),
      { numRuns: 500 },
    );
  }, 30_000);

  it('agrees with zod or gives up on mutated events, so invalid ones still fail with zod', () => {
    fc.assert(
      fc.property(
        commonEvent,
        fc.array(fc.nat(), { maxLength: 4 }),
        badValue,
        (event, path, replacement) => {
          const mutated = mutate(event, path, replacement);
          expectSameAsZod(mutated);
          let expected: { value: unknown } | { error: unknown };
          try {
            expected = { value: parseWithZod(mutated) };
          } catch (error) {
            expected = { error };
          }
          if ('error' in expected) expect(() => parseEvent(mutated)).toThrow(z.ZodError);
          else expect(parseEvent(mutated)).toStrictEqual(expected.value);
        },
      ),
      { numRuns: 2000 },
    );
  }, 30_000);

  it('leaves other kinds, unknown kinds and non-plain values to zod', () => {
    const base = { id: 'e1', timestamp: '2026-01-31T12:00:00.000Z', source: 'agent' };
    expect(parseCommonEvent({ ...base, kind: 'Condensation', llm_response_id: 'r' })).toBe(
      undefined,
    );
    expect(parseCommonEvent({ ...base, kind: 'SomeExtension' })).toBe(undefined);
    expect(parseCommonEvent({ ...base, kind: 'ConversationStateUpdateEvent', key: 'k' })).toBe(
      undefined,
    );
    const error = {
      ...base,
      kind: 'AgentErrorEvent',
      error: 'e',
      tool_name: 't',
      tool_call_id: 'c',
    };
    expect(parseCommonEvent(error)).toStrictEqual(knownEventSchema.parse(error));
    expect(parseCommonEvent({ ...error, note: undefined })).toBe(undefined);
    expect(parseEvent({ ...error, note: undefined })).toStrictEqual(
      knownEventSchema.parse({ ...error, note: undefined }),
    );
    expect(parseCommonEvent({ ...base, kind: 'AgentErrorEvent', error: undefined })).toBe(
      undefined,
    );
    expect(parseCommonEvent(JSON.parse('{"__proto__": 1, "kind": "PauseEvent"}'))).toBe(undefined);
    expect(parseCommonEvent([])).toBe(undefined);
    expect(parseCommonEvent(null)).toBe(undefined);
  });
});
