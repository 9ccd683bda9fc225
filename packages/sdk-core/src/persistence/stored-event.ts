import { FerryError } from '../errors/ferry-error';

/**
 * An event as the log stores it: a plain JSON object with the event envelope. The log checks only
 * the envelope; typed parsing (zod, by `kind`) happens above it.
 */
export type StoredEvent = {
  id: string;
  kind: string;
  timestamp: string;
  [key: string]: unknown;
};

/**
 * Why `value` is not a stored event (`undefined` when it is one): it must be a JSON object whose
 * `id`, `kind` and `timestamp` are non-empty strings.
 */
export function storedEventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'not a JSON object';
  }
  const record = value as Record<string, unknown>;
  for (const field of ['id', 'kind', 'timestamp'] as const) {
    const fieldValue = record[field];
    if (typeof fieldValue !== 'string' || fieldValue === '') {
      return `"${field}" must be a non-empty string`;
    }
  }
  return undefined;
}

/** Whether `value` has the envelope of a stored event (see `storedEventProblem`). */
export function isStoredEvent(value: unknown): value is StoredEvent {
  return storedEventProblem(value) === undefined;
}

/** An event ready to store: a JSON copy of it, and its JSON line (without the newline). */
export interface PreparedEvent {
  event: StoredEvent;
  line: string;
}

/**
 * Serialises an event for storing, so later changes to the caller's object do not reach the
 * store, and checks its envelope.
 * @throws FerryError `INVALID_EVENT_ENVELOPE` for a value that is not JSON or has no valid envelope.
 */
export function prepareStoredEvent(event: StoredEvent): PreparedEvent {
  // undefined for values JSON cannot hold, such as `undefined` itself.
  let line: string | undefined;
  try {
    line = JSON.stringify(event);
  } catch (error) {
    throw invalidEvent(`it cannot be written as JSON (${messageOf(error)})`, error);
  }
  if (line === undefined) throw invalidEvent('it is not a JSON object');
  const copy = JSON.parse(line) as unknown;
  const problem = storedEventProblem(copy);
  if (problem !== undefined) throw invalidEvent(problem);
  return { event: copy as StoredEvent, line };
}

function invalidEvent(reason: string, cause?: unknown): FerryError {
  return new FerryError('INVALID_EVENT_ENVELOPE', `Refusing to append an event: ${reason}.`, {
    cause,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
