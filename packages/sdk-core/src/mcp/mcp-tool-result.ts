import type {
  CallToolResult,
  CompatibilityCallToolResult,
  ContentBlock,
} from '@modelcontextprotocol/sdk/types.js';
import type { TextContent } from '../event/content';

/** What an MCP tool call returned, as text parts for the LLM. */
export interface McpToolOutput {
  content: TextContent[];
  isError: boolean;
}

/**
 * Turns an MCP `tools/call` result into text parts: text as it is; images, audio and binary
 * resources described (type, size) rather than inlined; text resources with their URI and
 * body; resource links by URI. Structured content stands in when there is no content, and a
 * result of the pre-2024-11 protocol (`toolResult`) is shown as JSON.
 */
export function mcpToolOutput(result: CallToolResult | CompatibilityCallToolResult): McpToolOutput {
  const content = Array.isArray(result.content) ? (result.content as ContentBlock[]) : [];
  const parts = content.map((block) => ({ type: 'text' as const, text: describeBlock(block) }));
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push({ type: 'text', text: JSON.stringify(result.structuredContent) });
  }
  if (parts.length === 0 && 'toolResult' in result) {
    parts.push({ type: 'text', text: JSON.stringify(result.toolResult) });
  }
  if (parts.length === 0) parts.push({ type: 'text', text: '(the tool returned no content)' });
  return { content: parts, isError: result.isError === true };
}

function describeBlock(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
      return `[image: ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'audio':
      return `[audio: ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'resource': {
      const { resource } = block;
      const type = resource.mimeType ?? 'unknown type';
      if ('text' in resource && typeof resource.text === 'string') {
        return `[resource: ${resource.uri} (${type})]\n${resource.text}`;
      }
      const bytes =
        'blob' in resource && typeof resource.blob === 'string' ? base64Bytes(resource.blob) : 0;
      return `[resource: ${resource.uri} (${type}), ${bytes} bytes]`;
    }
    case 'resource_link':
      return `[resource link: ${block.uri} (${[block.name, block.description, block.mimeType].filter(Boolean).join(', ')})]`;
  }
}

/** The decoded size of base64 text, without decoding it. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}
