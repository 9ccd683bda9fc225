import { callLLM, type AnyEvent, type LLM } from '@ferry/sdk-core';
import type { FastifyBaseLogger } from 'fastify';
import { describeError, type OpenConversation } from './open-conversation';

/** Longest generated title, in characters (OpenHands' limit). */
export const TITLE_MAX_LENGTH = 50;
/** Characters of the message an LLM is shown at most (OpenHands' cut). */
const MESSAGE_MAX_LENGTH = 1000;

const TITLE_SYSTEM_PROMPT =
  'You name conversations between a user and a coding agent that works with a terminal, ' +
  'files and a browser. Answer with the title alone: no quotes, no explanation.';

/** Loads the LLM of a stored profile (`undefined` when it does not exist or cannot be read). */
export type TitleLlmLoader = (profileName: string) => Promise<LLM | undefined>;

/** The text parts of a message's content, joined by spaces, or undefined. */
export function messageText(content: unknown): string | undefined {
  const parts = Array.isArray(content) ? (content as unknown[]) : [];
  const text = parts
    .map((part) => {
      const { type, text: value } = (part ?? {}) as { type?: unknown; text?: unknown };
      return type === 'text' && typeof value === 'string' ? value : '';
    })
    .filter((piece) => piece !== '')
    .join(' ')
    .trim();
  return text === '' ? undefined : text;
}

/** The text of a user `MessageEvent`, or undefined. */
export function userMessageText(event: AnyEvent): string | undefined {
  if (event.kind !== 'MessageEvent' || event.source !== 'user') return undefined;
  return messageText((event as { llm_message?: { content?: unknown } }).llm_message?.content);
}

/**
 * The title a new conversation starts with when its initial message can be cut into one at
 * once (no title given, `autotitle` on, no title LLM profile), else undefined.
 */
export function initialTitle(input: {
  title?: string | null | undefined;
  autotitle?: boolean | undefined;
  titleLlmProfile?: string | null | undefined;
  initialMessage?: { content: unknown } | null | undefined;
}): string | undefined {
  if (input.title != null || input.autotitle === false || input.titleLlmProfile != null) {
    return undefined;
  }
  const text = messageText(input.initialMessage?.content);
  return text === undefined ? undefined : truncateTitle(text);
}

/** A title cut to {@link TITLE_MAX_LENGTH}: longer text keeps its start and ends with `...`. */
export function truncateTitle(text: string): string {
  const title = text.trim();
  return title.length > TITLE_MAX_LENGTH ? `${title.slice(0, TITLE_MAX_LENGTH - 3)}...` : title;
}

/**
 * A title for a conversation that starts with `message`: asked of `llm` when given, else (and
 * when the LLM fails or answers nothing) the message itself, truncated, as OpenHands falls back.
 */
export async function generateTitle(
  message: string,
  llm: LLM | undefined,
  log: FastifyBaseLogger,
): Promise<string> {
  if (llm !== undefined) {
    const shown =
      message.length > MESSAGE_MAX_LENGTH
        ? `${message.slice(0, MESSAGE_MAX_LENGTH)}...(truncated)`
        : message;
    try {
      const result = await callLLM({
        llm: { ...llm, stream: false },
        system: TITLE_SYSTEM_PROMPT,
        messages: [
          {
            role: 'user',
            content: `A title of at most ${TITLE_MAX_LENGTH} characters, starting with one fitting emoji, for a conversation whose first message is:\n\n${shown}`,
          },
        ],
        tools: [],
      });
      const title = truncateTitle(result.text);
      if (title !== '') return title;
      log.warn('the title LLM answered nothing; the title is the first message');
    } catch (error) {
      log.warn(
        { err: describeError(error) },
        'title generation failed; the title is the first message',
      );
    }
  }
  return truncateTitle(message);
}

/**
 * Titles a conversation from its first user message, as OpenHands' auto-title does: while the
 * conversation has no title and its state does not say `autotitle: false`, the next user
 * message with text (with `fromLog`, one already in the log) is turned into a title by the
 * LLM of the `title_llm_profile` named at its start, or by truncation. A title set meanwhile
 * (`PATCH`) wins. Returns the function that stops listening.
 */
export function attachAutoTitle(
  entry: OpenConversation,
  options: {
    loadLlm: TitleLlmLoader;
    log: FastifyBaseLogger;
    /** Also title from a user message already in the log (a new conversation's initial one). */
    fromLog?: boolean;
  },
): () => void {
  const conversation = entry.conversation;
  const state = conversation.state as { autotitle?: unknown; title_llm_profile?: unknown };
  if (conversation.state.title != null || state.autotitle === false) return () => undefined;
  let started = false;
  const start = (message: string) => {
    started = true;
    off();
    const profile =
      typeof state.title_llm_profile === 'string' ? state.title_llm_profile : undefined;
    void (async () => {
      const llm = profile === undefined ? undefined : await options.loadLlm(profile);
      if (profile !== undefined && llm === undefined) {
        options.log.warn({ profile }, 'the title LLM profile cannot be loaded; truncating instead');
      }
      const title = await generateTitle(message, llm, options.log);
      if (conversation.state.title == null) await conversation.updateMetadata({ title });
    })().catch((error: unknown) => {
      // The conversation closed meanwhile, or its state cannot be written: it stays untitled.
      options.log.warn({ err: describeError(error) }, 'could not record the generated title');
    });
  };
  const off = entry.onEvent((event) => {
    const text = started ? undefined : userMessageText(event);
    if (text !== undefined) start(text);
  });
  if (options.fromLog !== true) return off;
  for (const event of conversation.events) {
    const text = userMessageText(event);
    if (text !== undefined) {
      start(text);
      break;
    }
  }
  return off;
}
