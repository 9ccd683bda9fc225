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
