import { isEventTimestamp } from './event-base';
import type { Event } from './event-schemas';

/*
 * A hand-written parser for the event kinds that make up almost every log (messages, actions,
 * observations, errors, state updates). Parsing a long log with the zod schemas costs as much
 * as reading it, most of it on a cold start. This parser gives exactly what the schemas give
 * (same fields, defaults, key order, unknown fields kept) for events it fully understands and
 * gives up on anything else, including every invalid event, which then goes through zod for its
 * result or its error. `parse-common-event.test.ts` checks it against the schemas.
 */

/** Thrown inside the parser when the event is not one it handles. */
const GIVE_UP = Symbol('give up');
/** Returned by a field parser: leave the key out. */
const OMIT = Symbol('omit');

type FieldParser = (value: unknown) => unknown;
type Shape = readonly (readonly [key: string, parse: FieldParser])[];

function giveUp(): never {
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a private sentinel, never escapes
  throw GIVE_UP;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

const string: FieldParser = (value) => (typeof value === 'string' ? value : giveUp());
const nonEmptyString: FieldParser = (value) =>
  typeof value === 'string' && value.length > 0 ? value : giveUp();
const timestamp: FieldParser = (value) =>
  typeof value === 'string' && isEventTimestamp(value) ? value : giveUp();

function oneOf(values: readonly string[]): FieldParser {
  const allowed = new Set(values);
  return (value) => (typeof value === 'string' && allowed.has(value) ? value : giveUp());
}

/** `.nullish()`: absent stays absent, null stays null. */
function nullish(parse: FieldParser): FieldParser {
  return (value) => (value === undefined ? OMIT : value === null ? null : parse(value));
}

/** `.optional()`. */
function optional(parse: FieldParser): FieldParser {
  return (value) => (value === undefined ? OMIT : parse(value));
}

/** `z.unknown().optional()`: any value, kept as is; absent stays absent. */
const optionalUnknown: FieldParser = (value) => (value === undefined ? OMIT : value);
/** `z.unknown()`: any value, kept as is; zod 4 still wants the key. */
const requiredUnknown: FieldParser = (value) => (value === undefined ? giveUp() : value);

/** `.default(...)`: zod does not parse the default, it takes it as is. */
function withDefault(parse: FieldParser, make: () => unknown): FieldParser {
  return (value) => (value === undefined ? make() : parse(value));
}

function array(parse: FieldParser): FieldParser {
  return (value) => {
    if (!Array.isArray(value)) giveUp();
    // Copy on write: an array whose every item parses to itself is returned as it is.
    let result: unknown[] | undefined;
    // By index, as zod does: a hole is an `undefined` item, not a skipped one.
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      const parsed = parse(item);
      if (result !== undefined) result.push(parsed);
      else if (parsed !== item || !(index in value)) {
        result = value.slice(0, index) as unknown[];
        result.push(parsed);
      }
    }
    return result ?? (value as unknown[]);
  };
}

/** A parser of one object, with the keys of its shape (checked against the schema in tests). */
type ObjectParser = ((value: unknown) => Record<string, unknown>) & { readonly keys: string[] };

/** `z.looseObject(shape)`: the shape's keys in order, then every other key as written. */
function looseObject(shape: Shape): ObjectParser {
  const keys = shape.map(([key]) => key);
  const known = new Set(keys);
  const parse = (value: unknown) => {
    if (!isPlainObject(value)) giveUp();
    if (isCanonical(value)) return value;
    const result: Record<string, unknown> = {};
    for (const [key, parseField] of shape) {
      const field = value[key];
      // A key present with `undefined` (never in JSON) is left to zod.
      if (field === undefined && key in value) giveUp();
      const parsed = parseField(field);
      if (parsed !== OMIT) result[key] = parsed;
    }
    for (const key of Object.keys(value)) {
      if (known.has(key)) continue;
      const field = value[key];
      // zod drops an unknown key holding `undefined`; `__proto__` would set the prototype.
      if (field === undefined || key === '__proto__') giveUp();
      result[key] = field;
    }
    return result;
  };
  /**
   * Whether parsing `value` would give an equal object: the shape's keys first, in order, each
   * parsing to its own value (no default to fill), then only other keys. Such a value is returned
   * as it is, which spares copying every event of a long log that Ferry wrote itself.
   */
  const isCanonical = (value: Record<string, unknown>): boolean => {
    const present = Object.keys(value);
    let position = 0;
    for (const [key, parseField] of shape) {
      const field = value[key];
      if (field === undefined) {
        if (key in value) giveUp();
        if (parseField(field) !== OMIT) return false;
        continue;
      }
      if (present[position] !== key || parseField(field) !== field) return false;
      position += 1;
    }
    for (; position < present.length; position += 1) {
      const key = present[position] as string;
      if (value[key] === undefined || key === '__proto__') giveUp();
    }
    return true;
  };
  return Object.assign(parse, { keys });
}

/** An empty array only: anything in it goes through zod's unions. */
const emptyArray: FieldParser = (value) =>
  Array.isArray(value) && value.length === 0 ? (value as unknown[]) : giveUp();

const textContent = looseObject([
  [
    'type',
    withDefault(
      (value) => (value === 'text' ? value : giveUp()),
      () => 'text',
    ),
  ],
  ['text', string],
]);
const imageContent = looseObject([
  ['type', (value) => (value === 'image' ? value : giveUp())],
  ['image_urls', array(string)],
]);
const messageContent: FieldParser = (value) => {
  if (!isPlainObject(value)) giveUp();
  if (value.type === undefined || value.type === 'text') return textContent(value);
  if (value.type === 'image') return imageContent(value);
  return giveUp();
};
const toolCall = looseObject([
  ['id', string],
  ['name', string],
  ['arguments', string],
  ['origin', withDefault(oneOf(['completion', 'responses']), () => 'completion')],
]);
const message = looseObject([
  ['role', oneOf(['user', 'system', 'assistant', 'tool'])],
  ['content', withDefault(array(messageContent), () => [])],
  ['tool_calls', nullish(array(toolCall))],
  ['tool_call_id', nullish(string)],
  ['name', nullish(string)],
  ['reasoning_content', nullish(string)],
  ['thinking_blocks', optional(emptyArray)],
  ['responses_reasoning_item', optionalUnknown],
]);
const kindedDocument = looseObject([['kind', nonEmptyString]]);

const envelope: Shape = [
  ['id', nonEmptyString],
  ['timestamp', timestamp],
  ['source', oneOf(['user', 'agent', 'environment', 'hook'])],
];
const kind = (name: string): readonly [string, FieldParser] => [
  'kind',
  (value) => (value === name ? value : giveUp()),
];

const parsers: ReadonlyMap<string, ObjectParser> = new Map([
  [
    'MessageEvent',
    looseObject([
      ...envelope,
      kind('MessageEvent'),
      ['llm_message', message],
      ['llm_response_id', nullish(string)],
      ['activated_skills', withDefault(array(string), () => [])],
      ['extended_content', withDefault(array(textContent), () => [])],
      ['sender', nullish(string)],
    ]),
  ],
  [
    'ActionEvent',
    looseObject([
      ...envelope,
      kind('ActionEvent'),
      ['thought', withDefault(array(textContent), () => [])],
      ['reasoning_content', nullish(string)],
      ['thinking_blocks', withDefault(emptyArray, () => [])],
      ['responses_reasoning_item', optionalUnknown],
      ['action', nullish(kindedDocument)],
      ['tool_name', string],
      ['tool_call_id', string],
      ['tool_call', toolCall],
      ['llm_response_id', string],
      ['security_risk', withDefault(oneOf(['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH']), () => 'UNKNOWN')],
      ['summary', nullish(string)],
    ]),
  ],
  [
    'ObservationEvent',
    looseObject([
      ...envelope,
      kind('ObservationEvent'),
      ['observation', kindedDocument],
      ['action_id', string],
      ['tool_name', string],
      ['tool_call_id', string],
    ]),
  ],
  [
    'AgentErrorEvent',
    looseObject([
      ...envelope,
      kind('AgentErrorEvent'),
      ['error', string],
      ['tool_name', string],
      ['tool_call_id', string],
    ]),
  ],
  [
    'ConversationStateUpdateEvent',
    looseObject([
      ...envelope,
      kind('ConversationStateUpdateEvent'),
      ['key', string],
      ['value', requiredUnknown],
    ]),
  ],
]);

/** The keys each mirrored schema's shape must have, in order (for the drift test). */
export const mirroredShapeKeys = {
  events: new Map([...parsers].map(([kind, parse]) => [kind, parse.keys])),
  textContent: textContent.keys,
  imageContent: imageContent.keys,
  messageToolCall: toolCall.keys,
  message: message.keys,
  kindedDocument: kindedDocument.keys,
};

/**
 * The typed event, exactly as `knownEventSchema.parse` gives it, for a valid event of a common
 * kind; `undefined` for anything else (other kinds, invalid events, unusual shapes).
 */
export function parseCommonEvent(value: unknown): Event | undefined {
  if (!isPlainObject(value) || typeof value.kind !== 'string') return undefined;
  const parse = parsers.get(value.kind);
  if (parse === undefined) return undefined;
  try {
    return parse(value) as Event;
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
}
