import type { StoredEvent } from '@ferry/sdk-core';
import { parseQueryDateTime } from '../schemas/common-schemas';
import type { EventFilterQuery, EventSortOrder } from '../schemas/event-schemas';

/** Options of {@link searchEvents}. */
export interface EventSearch extends EventFilterQuery {
  page_id?: string | null | undefined;
  limit: number;
  sort_order: EventSortOrder;
}

function messageText(event: StoredEvent): string {
  const message = event.llm_message as { content?: unknown } | undefined;
  if (!Array.isArray(message?.content)) return '';
  return message.content
    .map((part: unknown) => {
      const text = (part as { text?: unknown } | null)?.text;
      return typeof text === 'string' ? text : '';
    })
    .join('\n');
}

function eventTime(event: StoredEvent): number {
  return parseQueryDateTime(event.timestamp);
}

/** The predicate of the `kind`, `source`, `body` and timestamp filters. */
export function eventFilter(query: EventFilterQuery): (event: StoredEvent) => boolean {
  const body = query.body?.toLowerCase();
  const gte = query.timestamp__gte == null ? undefined : parseQueryDateTime(query.timestamp__gte);
  const lt = query.timestamp__lt == null ? undefined : parseQueryDateTime(query.timestamp__lt);
  return (event) =>
    (query.kind == null || event.kind === query.kind) &&
    (query.source == null || event.source === query.source) &&
    (body === undefined ||
      (event.kind === 'MessageEvent' && messageText(event).toLowerCase().includes(body))) &&
    (gte === undefined || eventTime(event) >= gte) &&
    (lt === undefined || eventTime(event) < lt);
}

/**
 * One page of a conversation's events, as stored, in log order (`TIMESTAMP`) or reversed
 * (`TIMESTAMP_DESC`), starting at the event whose id is `page_id` (the previous page's
 * `next_page_id`).
 */
export function searchEvents(
  events: readonly StoredEvent[],
  search: EventSearch,
): { items: StoredEvent[]; next_page_id: string | null } {
  const keep = eventFilter(search);
  let matching = events.filter(keep);
  if (search.sort_order === 'TIMESTAMP_DESC') matching = matching.reverse();
  let start = 0;
  if (search.page_id != null) {
    const index = matching.findIndex((event) => event.id === search.page_id);
    start = index < 0 ? matching.length : index;
  }
  const next = matching[start + search.limit];
  return {
    items: matching.slice(start, start + search.limit),
    next_page_id: next?.id ?? null,
  };
}

/**
 * How many events match the filters. Without a filter it is the log's length, and no event is
 * read (a conversation resumed with its live context only keeps its history on disk).
 */
export function countEvents(
  events: { readonly length: number; raw(): readonly StoredEvent[] },
  query: EventFilterQuery,
): number {
  if (Object.values(query).every((value) => value == null)) return events.length;
  const keep = eventFilter(query);
  let count = 0;
  for (const event of events.raw()) if (keep(event)) count += 1;
  return count;
}
