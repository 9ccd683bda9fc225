/** A JSON object as settings hold it. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenHands' settings diff: nested objects merge recursively, lists and other values replace
 * what was there, and a `null` inside a nested object removes that entry. A `null` on a
 * top-level field is kept as `null` (the field's own validation decides about it).
 */
export function mergeSettingsDiff(current: JsonObject, diff: JsonObject, depth = 0): JsonObject {
  const merged: JsonObject = { ...current };
  for (const [key, value] of Object.entries(diff)) {
    if (value === null && depth > 0) {
      delete merged[key];
    } else if (isJsonObject(value)) {
      const before = merged[key];
      merged[key] = mergeSettingsDiff(isJsonObject(before) ? before : {}, value, depth + 1);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** Keys whose string value is a credential, at any depth of a settings object. */
const CREDENTIAL_KEYS: ReadonlySet<string> = new Set([
  'api_key',
  'aws_access_key_id',
  'aws_secret_access_key',
  'aws_session_token',
]);
/** Objects every string value of which is a credential (an MCP server's headers and env). */
const CREDENTIAL_MAPS: ReadonlySet<string> = new Set(['headers', 'env']);

/**
 * A copy of `value` with every credential (a non-empty string under `api_key` or `aws_*` at any
 * depth, and every string of a `headers` or `env` object) replaced by `transform(credential)`.
 */
export function mapCredentials(
  value: unknown,
  transform: (credential: string) => unknown,
  inCredentialMap = false,
): unknown {
  if (Array.isArray(value)) return value.map((item) => mapCredentials(item, transform));
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if ((inCredentialMap || CREDENTIAL_KEYS.has(key)) && typeof item === 'string' && item !== '') {
      out[key] = transform(item);
    } else {
      out[key] = mapCredentials(item, transform, CREDENTIAL_MAPS.has(key));
    }
  }
  return out;
}
