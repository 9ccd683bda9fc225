import type { ConversationInfo, ConversationSortOrder } from '../schemas/conversation-schemas';
import type { ConversationRecord } from './conversation-manager';

/** OpenHands' `ConversationInfo` of a conversation: its redacted state and its times. */
export function toConversationInfo(record: ConversationRecord): ConversationInfo {
  return { ...record.state, created_at: record.createdAt, updated_at: record.updatedAt };
}

/** Options of {@link searchConversations}. */
export interface ConversationSearch {
  pageId?: string | null | undefined;
  limit: number;
  status?: string | null | undefined;
  sortOrder: ConversationSortOrder;
}

function sortKey(record: ConversationRecord, order: ConversationSortOrder): number {
  return Date.parse(order.startsWith('CREATED_AT') ? record.createdAt : record.updatedAt);
}

/**
 * One page of conversations: filtered by status, sorted, starting at the conversation whose id
 * is `pageId` (the previous page's `next_page_id`). Ties are broken by id so pages are stable.
 */
export function searchConversations(
  records: readonly ConversationRecord[],
  search: ConversationSearch,
): { items: ConversationInfo[]; next_page_id: string | null } {
  const descending = search.sortOrder.endsWith('_DESC');
  const sorted = records
    .filter((record) => search.status == null || record.state.execution_status === search.status)
    .sort((a, b) => {
      const difference = sortKey(a, search.sortOrder) - sortKey(b, search.sortOrder);
      const order = difference !== 0 ? difference : a.state.id.localeCompare(b.state.id);
      return descending ? -order : order;
    });
  let start = 0;
  if (search.pageId != null) {
    const index = sorted.findIndex((record) => record.state.id === search.pageId);
    start = index < 0 ? sorted.length : index;
  }
  const page = sorted.slice(start, start + search.limit);
  const next = sorted[start + search.limit];
  return { items: page.map(toConversationInfo), next_page_id: next?.state.id ?? null };
}
