import { z } from 'zod';

/** A text part of a message. */
export const textContentSchema = z.looseObject({
  type: z.literal('text').default('text'),
  text: z.string(),
});
export type TextContent = z.infer<typeof textContentSchema>;

/** An image part of a message (URLs or data URLs). */
export const imageContentSchema = z.looseObject({
  type: z.literal('image'),
  image_urls: z.array(z.string()),
});
export type ImageContent = z.infer<typeof imageContentSchema>;

export const messageContentSchema = z.union([textContentSchema, imageContentSchema]);
export type MessageContent = z.infer<typeof messageContentSchema>;

/** Anthropic-style extended thinking; its `signature` is bound to the provider that made it. */
export const thinkingBlockSchema = z.looseObject({
  type: z.literal('thinking').default('thinking'),
  thinking: z.string(),
  signature: z.string().nullish(),
});
/** Redacted (encrypted) thinking; only the provider that made it can read it. */
export const redactedThinkingBlockSchema = z.looseObject({
  type: z.literal('redacted_thinking'),
  data: z.string(),
});
export const anyThinkingBlockSchema = z.union([redactedThinkingBlockSchema, thinkingBlockSchema]);
export type ThinkingBlock = z.infer<typeof anyThinkingBlockSchema>;

/** A tool call as the LLM made it. */
export const messageToolCallSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  arguments: z.string(),
  origin: z.enum(['completion', 'responses']).default('completion'),
});
export type MessageToolCall = z.infer<typeof messageToolCallSchema>;

/** A provider-neutral chat message (OpenHands' `Message`). */
export const messageSchema = z.looseObject({
  role: z.enum(['user', 'system', 'assistant', 'tool']),
  content: z.array(messageContentSchema).default([]),
  tool_calls: z.array(messageToolCallSchema).nullish(),
  tool_call_id: z.string().nullish(),
  name: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  thinking_blocks: z.array(anyThinkingBlockSchema).optional(),
  responses_reasoning_item: z.unknown().optional(),
});
export type Message = z.infer<typeof messageSchema>;

/** Joins the text parts of a content list. */
export function contentToText(content: readonly MessageContent[]): string {
  // A loop, not filter/map/join: this runs for every event when a long history is converted.
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
