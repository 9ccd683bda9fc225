import { z } from 'zod';
import { securityRiskSchema } from '../event/event-schemas';
import type { ToolDefinition } from './tool-definition';

/** The fields every tool call may carry besides the tool's own parameters. */
export const toolCallAnnotationsSchema = z.object({
  security_risk: securityRiskSchema
    .optional()
    .describe('Your estimate of the risk of this action: LOW, MEDIUM, HIGH, or UNKNOWN.'),
  summary: z
    .string()
    .optional()
    .describe('A short (about ten words) summary of what this action does.'),
});
export type ToolCallAnnotations = z.infer<typeof toolCallAnnotationsSchema>;

/** A JSON schema object as sent to the LLM. */
export type JsonSchemaObject = Record<string, unknown>;

/** The JSON schema the LLM sees for a tool: its parameters plus `security_risk` and `summary`. */
export function toolInputJsonSchema(tool: ToolDefinition): JsonSchemaObject {
  const cached = inputSchemas.get(tool);
  // A copy: callers (and providers) may change what they get.
  if (cached !== undefined) return structuredClone(cached);
  const schema = z.toJSONSchema(tool.parameters.extend(toolCallAnnotationsSchema.shape), {
    target: 'draft-7',
    io: 'input',
  }) as JsonSchemaObject;
  delete schema.$schema;
  inputSchemas.set(tool, schema);
  return structuredClone(schema);
}

/** Input schemas by tool: made once per tool (a step offers every tool, every time). */
const inputSchemas = new WeakMap<ToolDefinition, JsonSchemaObject>();

/** Splits validated arguments into the tool's own and the annotations. */
export function splitAnnotations(args: Record<string, unknown>): {
  toolArgs: Record<string, unknown>;
  annotations: ToolCallAnnotations;
} {
  const { security_risk, summary, ...toolArgs } = args;
  const annotations = toolCallAnnotationsSchema.catch({}).parse({ security_risk, summary });
  return { toolArgs, annotations };
}
