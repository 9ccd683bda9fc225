import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyEvent } from '@ferry/sdk-core';

/** One answer of the server, as a client sees it. */
export interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Sends a JSON request to a Ferry server and reads the answer (JSON when it is JSON). */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
    parsed = JSON.parse(text) as unknown;
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Like {@link call}, but a status other than `expected` fails with the answer in the message. */
export async function expectStatus(
  baseUrl: string,
  expected: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const answer = await call(baseUrl, method, path, body);
  if (answer.status !== expected) {
    throw new Error(
      `${method} ${path}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer;
}

/** Every event of a conversation, oldest first, read page by page through the API. */
export async function allEvents(baseUrl: string, id: string): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  let page: string | null = null;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const query = page === null ? '' : `&page_id=${encodeURIComponent(page)}`;
    const answer = await expectStatus(
      baseUrl,
      200,
      'GET',
      `/api/conversations/${id}/events/search?limit=100${query}`,
    );
    const body = answer.body as { items: AnyEvent[]; next_page_id: string | null };
    events.push(...body.items);
    page = body.next_page_id;
    if (page === null) return events;
  }
  throw new Error(`events of ${id}: more than 10,000 pages`);
}

/** The conversation as the API shows it. */
export async function conversationInfo(
  baseUrl: string,
  id: string,
): Promise<{ execution_status: string; title?: string | null } & Record<string, unknown>> {
  const answer = await expectStatus(baseUrl, 200, 'GET', `/api/conversations/${id}`);
  return answer.body as { execution_status: string } & Record<string, unknown>;
}

/**
 * Polls the conversation until its status is one of `statuses` (bounded: at most `attempts`
 * polls 50 ms apart), and returns the last status seen.
 */
export async function waitForStatus(
  baseUrl: string,
  id: string,
  statuses: readonly string[],
  attempts = 1200,
): Promise<string> {
  let status = '';
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    status = (await conversationInfo(baseUrl, id)).execution_status;
    if (statuses.includes(status)) return status;
    await sleep(50);
  }
  return status;
}

/** The texts of the user messages of a log, in order. */
export function userMessageTexts(events: readonly AnyEvent[]): string[] {
  const texts: string[] = [];
  for (const event of events) {
    if (event.kind !== 'MessageEvent' || (event as { source?: string }).source !== 'user') continue;
    const message = (event as { llm_message?: { content?: { type: string; text?: string }[] } })
      .llm_message;
    texts.push(
      (message?.content ?? [])
        .filter((part) => part.type === 'text')
        .map((part) => part.text ?? '')
        .join(''),
    );
  }
  return texts;
}
