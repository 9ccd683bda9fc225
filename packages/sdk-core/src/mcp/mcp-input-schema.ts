import { z } from 'zod';

/**
 * The zod parameters of an MCP tool, built from the JSON schema the server declares, so the
 * LLM sees that schema (through `toolInputJsonSchema`) and calls are validated before they go
 * out. Tolerant: a schema `z.fromJSONSchema` cannot convert as a whole (top-level `anyOf`,
 * `not`, no `type`, ...) keeps its properties one by one, a property it cannot convert accepts
 * any value (the server still validates the call), and unknown arguments pass through unless
 * the schema says `additionalProperties: false`.
 */
export function mcpParametersSchema(inputSchema: Record<string, unknown>): z.ZodObject {
  const normalised = normaliseDefinitions(withoutDialect(inputSchema));
  const whole = tryFromJSONSchema(normalised);
  if (whole instanceof z.ZodObject) return whole;

  const properties = isRecord(normalised.properties) ? normalised.properties : {};
  const required = new Set(
    Array.isArray(normalised.required)
      ? normalised.required.filter((name) => typeof name === 'string')
      : [],
  );
  const shape: Record<string, z.ZodType> = {};
  for (const [name, property] of Object.entries(properties)) {
    const converted = isRecord(property) ? tryFromJSONSchema(property) : undefined;
    const schema = converted ?? describedUnknown(property);
    shape[name] = required.has(name) ? schema : schema.optional();
  }
  return z.looseObject(shape);
}

/**
 * `z.fromJSONSchema`, or `undefined` for a schema it cannot convert or whose conversion cannot
 * be turned back into a JSON schema for the LLM.
 */
function tryFromJSONSchema(schema: Record<string, unknown>): z.ZodType | undefined {
  try {
    const converted = z.fromJSONSchema(schema);
    z.toJSONSchema(converted, { io: 'input' });
    return converted;
  } catch {
    return undefined;
  }
}

/** Any value; keeps the property's description so the LLM still reads it. */
function describedUnknown(property: unknown): z.ZodType {
  const description = isRecord(property) ? property.description : undefined;
  return typeof description === 'string' ? z.unknown().describe(description) : z.unknown();
}

/** Drops `$schema`: servers name various drafts, and the LLM schema names its own. */
function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/**
 * Draft-7 servers keep shared schemas in `definitions`; `z.fromJSONSchema` resolves `$defs`.
 * Moves them there and rewrites the `$ref`s that point at them.
 */
function normaliseDefinitions(schema: Record<string, unknown>): Record<string, unknown> {
  const { definitions, ...rest } = schema;
  if (!isRecord(definitions)) return schema;
  const $defs = { ...definitions, ...(isRecord(rest.$defs) ? rest.$defs : {}) };
  return rewriteRefs({ ...rest, $defs }) as Record<string, unknown>;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] =
      key === '$ref' && typeof child === 'string' && child.startsWith('#/definitions/')
        ? `#/$defs/${child.slice('#/definitions/'.length)}`
        : rewriteRefs(child);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
