import { describe, expect, it } from 'vitest';
import { defineTool } from '../tool/tool-definition';
import { toolInputJsonSchema } from '../tool/tool-schema';
import { mcpParametersSchema } from './mcp-input-schema';

/** The JSON schema the LLM would see for a tool with these MCP input schema. */
function llmSchema(inputSchema: Record<string, unknown>) {
  return toolInputJsonSchema(
    defineTool({
      name: 'server__tool',
      description: 'test',
      parameters: mcpParametersSchema(inputSchema),
      actionKind: 'MCPToolAction',
      observationKind: 'MCPToolObservation',
      execute: () => Promise.resolve({ content: '' }),
    }),
  );
}

describe('mcpParametersSchema', () => {
  it('keeps the server schema for the LLM, plus security_risk and summary', () => {
    const schema = llmSchema({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: {
        path: { type: 'string', description: 'File to read.' },
        mode: { enum: ['text', 'binary'] },
        limit: { type: 'integer', minimum: 1 },
      },
      required: ['path'],
      additionalProperties: false,
    });

    expect(schema).toMatchObject({
      type: 'object',
      properties: {
        path: { type: 'string', description: 'File to read.' },
        mode: { enum: ['text', 'binary'] },
        limit: { type: 'integer', minimum: 1 },
        security_risk: { enum: expect.arrayContaining(['LOW', 'HIGH']) as unknown },
        summary: { type: 'string' },
      },
      required: ['path'],
    });
  });

  it('validates arguments as the server schema says', () => {
    const parameters = mcpParametersSchema({
      type: 'object',
      properties: { path: { type: 'string' }, limit: { type: 'integer' } },
      required: ['path'],
    });

    expect(parameters.safeParse({ path: 'a.txt', limit: 3 }).success).toBe(true);
    expect(parameters.safeParse({ limit: 3 }).success).toBe(false);
    expect(parameters.safeParse({ path: 'a.txt', limit: 1.5 }).success).toBe(false);
    expect(parameters.parse({ path: 'a.txt', extra: true })).toEqual({
      path: 'a.txt',
      extra: true,
    });
  });

  it('resolves draft-7 definitions', () => {
    const parameters = mcpParametersSchema({
      type: 'object',
      properties: { point: { $ref: '#/definitions/Point' } },
      definitions: {
        Point: {
          type: 'object',
          properties: { x: { type: 'number' } },
          required: ['x'],
        },
      },
      required: ['point'],
    });

    expect(parameters.safeParse({ point: { x: 1 } }).success).toBe(true);
    expect(parameters.safeParse({ point: { x: 'one' } }).success).toBe(false);
  });

  it('keeps the properties of a schema it cannot convert whole, accepting any value where it must', () => {
    const inputSchema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        other: { not: { type: 'string' }, description: 'Anything but a string.' },
      },
      required: ['name'],
      anyOf: [{ required: ['name'] }, { required: ['other'] }],
    };
    const parameters = mcpParametersSchema(inputSchema);

    expect(parameters.safeParse({ name: 'x', other: 42 }).success).toBe(true);
    expect(parameters.safeParse({ other: 42 }).success).toBe(false);
    expect(llmSchema(inputSchema)).toMatchObject({
      properties: {
        name: { type: 'string' },
        other: { description: 'Anything but a string.' },
      },
      required: ['name'],
    });
  });

  it('takes a schema without properties as an open object', () => {
    const parameters = mcpParametersSchema({ type: 'object' });

    expect(parameters.parse({ anything: 1 })).toEqual({ anything: 1 });
    expect(llmSchema({})).toMatchObject({ type: 'object' });
  });
});
