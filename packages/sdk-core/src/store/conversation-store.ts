import type { LockOwner } from '../errors/conversation-locked-error';
import type { FileStore } from '../persistence/file-store';
import type { StoredEvent } from '../persistence/stored-event';

/**
 * The state document as a store keeps it: plain JSON, already sealed (secrets encrypted or
 * redacted by the conversation before it reaches the store). Stores never look inside it.
 */
export type StoredState = Record<string, unknown>;

/**
 * Exclusive, fenced ownership of one conversation, from {@link ConversationStore.acquireLease}.
 *
 * Every write (`appendEvents`, `writeState`, `deleteConversation`) takes the lease and commits
 * only while its `token` is the conversation's current one; after a takeover the old lease's
 * writes are refused with `LeaseLostError` and change nothing.
 */
export interface ConversationLease {
  /** The conversation's id (a UUID with dashes, lower case). */
  readonly conversationId: string;
  /**
   * The fencing token: a positive safe integer, strictly greater than the token of every lease
   * the conversation had before (a takeover or a new acquire always yields a larger one).
   */
  readonly token: number;
  /** Who holds it: this process, as written in the file store's `.lock`. */
  readonly owner: LockOwner;
  /**
   * When the lease lapses unless renewed (ISO-8601 UTC), or `undefined` for a lease without a
   * TTL, which lasts until it is released or its process ends.
   */
  readonly expiresAt: string | undefined;
}

/** Options of {@link ConversationStore.acquireLease}. */
export interface AcquireLeaseOptions {
  /**
   * Milliseconds the lease lasts unless renewed; after that another owner may take it over.
   * Absent: the store's default (the file and in-memory stores: no expiry, the lease lasts until
   * it is released or its process ends).
   */
  ttlMs?: number;
  /** Told about recoverable problems found while taking the lease (a stale lock taken over, a torn last event line cut off). */
  onWarning?: (message: string) => void;
}

/** Options of {@link ConversationStore.renewLease}. */
export interface RenewLeaseOptions {
  /** The new TTL in milliseconds from now; the lease's own TTL when absent. */
  ttlMs?: number;
}

/** Options of {@link ConversationStore.readEvents}. */
export interface ReadEventsOptions {
  /** Sequence number of the first event to read (0-based position in the log; default 0). */
  from?: number;
  /** At most this many events (default: all the rest). */
  limit?: number;
}

/** What {@link ConversationStore.appendEvents} wrote. */
export interface AppendResult {
  /** Sequence number of the first appended event (0-based). */
  from: number;
  /** Sequence number the next append will get: the log's length now. */
  next: number;
}

/** Events delivered to a subscriber: `events[i]` has sequence number `from + i`. */
export interface EventBatch {
  /** The conversation's id. */
  conversationId: string;
  /** Sequence number of `events[0]`. */
  from: number;
  /** The events, in log order; never empty. */
  events: readonly StoredEvent[];
}

/** Options of {@link ConversationStore.subscribe}. */
export interface SubscribeOptions {
  /** Sequence number of the first event to deliver (0 = the whole log; `eventCount()` = only new ones). */
  from: number;
  /**
   * Called with each batch, in order: every event from `from` on exactly once, with no gap, also
   * while appends race the subscription. Calls never overlap; a throw is reported to `onError`.
   */
  onEvents: (batch: EventBatch) => void | Promise<void>;
  /** Told when the subscription cannot continue (the store closed, the connection lost); default `console.warn`. */
  onError?: (error: unknown) => void;
  /**
   * Called when the conversation is deleted (a `deleteConversation` that resolved `true`) by any
   * writer the store can see (for the file and in-memory stores, those in this process; for
   * `PostgresStore`, every process on the database), after the batch being delivered, if any;
   * deletions in quick succession may be told once. `replaced` is `true` when the deleter is
   * writing the conversation again under the same id (an import replacing it): its new events
   * are then delivered from sequence number 0. The subscription stays registered until closed.
   */
  onDeleted?: (deletion: { replaced: boolean }) => void | Promise<void>;
}

/** Options of {@link ConversationStore.deleteConversation}. */
export interface DeleteConversationOptions {
  /**
   * The conversation is about to be written again under the same id (an import replacing it):
   * subscribers are told `{ replaced: true }` rather than that it is gone.
   */
  replacing?: boolean;
}

/** A live subscription; see {@link ConversationStore.subscribe}. */
export interface StoreSubscription {
  /** Stops delivery; no batch starts after it resolves. Calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Where conversations persist: the one seam between a conversation (and the server, and bundles)
 * and its storage. Two stores ship in `@ferry/sdk-core` — `FileConversationStore` (the folder
 * layout of `LocalConversation`'s `persistenceDir`) and `InMemoryConversationStore` — and
 * `PostgresStore` in `@ferry/store-postgres`. Every implementation passes the conformance suite
 * `describeConversationStoreConformance` of `@ferry/sdk-core/testing/conformance`.
 *
 * Conversation ids are UUIDs; stores accept them with or without dashes, in any case, and report
 * them lower case with dashes. Events carry sequence numbers: 0-based positions in the log,
 * gap-free and never reused. Reads need no lease; writes need the current lease.
 */
export interface ConversationStore {
  /**
   * Where a conversation is stored, for messages and the state's `persistence_dir`: a folder
   * (`/data/conversations/<id without dashes>`), `memory:/<id without dashes>`, a database URL
   * without its password plus the id. Without an id: the store itself.
   */
  describe(conversationId?: string): string;

  /**
   * Takes the conversation's lease, creating nothing else: a conversation exists once its state
   * is written. A lease on a conversation that is then released without a write leaves nothing
   * behind.
   *
   * A lease held by another owner is taken over (with a warning, and a larger token) only when it
   * is stale: expired, or (file store) its process on this host is gone.
   *
   * @throws ConversationLockedError while another owner (another process, or another lease in
   *   this one) holds a live lease.
   * @throws CorruptEventLogError when the stored log is damaged beyond a torn last line.
   */
  acquireLease(conversationId: string, options?: AcquireLeaseOptions): Promise<ConversationLease>;

  /**
   * Extends the lease by its TTL (or `ttlMs`) from now; the token stays the same.
   * @throws LeaseLostError when the lease was released or taken over.
   */
  renewLease(lease: ConversationLease, options?: RenewLeaseOptions): Promise<ConversationLease>;

  /**
   * Gives the lease up. A lease already lost (taken over, released) is not an error: nothing
   * happens. Resolves once another owner can acquire it.
   */
  releaseLease(lease: ConversationLease): Promise<void>;

  /**
   * The conversation's state document, or `undefined` when it has none (it does not exist).
   * @throws FerryError naming the location when the stored document is not JSON.
   */
  readState(conversationId: string): Promise<StoredState | undefined>;

  /**
   * Replaces the state document atomically: readers see the old one or the new one, never a mix,
   * also after a crash. The first write creates the conversation.
   * @throws LeaseLostError (nothing written) when the lease is not current.
   */
  writeState(lease: ConversationLease, state: StoredState): Promise<void>;

  /**
   * Appends events durably and in order, all or none, and resolves with their sequence numbers.
   * Events must have the stored-event envelope (`id`, `kind`, `timestamp`, non-empty strings).
   *
   * @throws LeaseLostError (nothing written) when the lease is not current.
   * @throws DuplicateEventIdError (nothing written) when an event's id is already in the log or
   *   twice in `events`: appending an event again is refused, never doubled.
   * @throws FerryError `INVALID_EVENT_ENVELOPE` (nothing written) for an event without the envelope.
   */
  appendEvents(lease: ConversationLease, events: readonly StoredEvent[]): Promise<AppendResult>;

  /**
   * The conversation's events from `from` (0-based), in order; `[]` past the end or for a
   * conversation without events. `result[i]` has sequence number `from + i`.
   * @throws CorruptEventLogError naming where (segment and line, table and sequence) a stored
   *   event is damaged. A torn last line left by a crash mid-append is not damage: it is skipped
   *   (and cut off by the next lease holder).
   */
  readEvents(conversationId: string, options?: ReadEventsOptions): Promise<StoredEvent[]>;

  /**
   * `readEvents`, synchronously, for a conversation whose lease this store holds; `undefined`
   * when it cannot answer synchronously (no lease here, or storage that only reads
   * asynchronously). Optional. A conversation opened on a store that has it loads only its live
   * context at resume and reads older history through this when a synchronous reader (its
   * `events` list) asks; on a store without it, a resume reads the whole log.
   * @throws CorruptEventLogError like `readEvents`.
   */
  readEventsSync?(conversationId: string, options?: ReadEventsOptions): StoredEvent[] | undefined;

  /**
   * The position of the event with id `eventId` in the log (-1 when it has none), synchronously,
   * for a conversation whose lease this store holds, without reading the whole history;
   * `undefined` when it cannot answer so. Optional: an open conversation then reads its history
   * to answer.
   */
  findEventSync?(conversationId: string, eventId: string): number | undefined;

  /** How many events the conversation has: the sequence number of its next event. */
  eventCount(conversationId: string): Promise<number>;

  /**
   * Delivers the conversation's events from `options.from` on, then each new append, until
   * closed. Resolves once the subscription is live: every event appended after that (by any
   * writer the store can see; for the file and in-memory stores, those in this process) is
   * delivered, exactly once, in order.
   */
  subscribe(conversationId: string, options: SubscribeOptions): Promise<StoreSubscription>;

  /** The ids of the conversations that have a state, sorted. */
  list(): Promise<string[]>;

  /**
   * Removes the conversation: state, events, side files and lease. With a lease, it must be
   * current; without one, the store takes one for the deletion. Resolves `false` when there was
   * nothing to delete.
   * @throws ConversationLockedError while another owner holds it; LeaseLostError for a stale lease.
   */
  deleteConversation(
    conversationId: string,
    lease?: ConversationLease,
    options?: DeleteConversationOptions,
  ): Promise<boolean>;

  /**
   * The conversation's side files (`TASKS.json`, `observations/`, `file_edits/`): what tools
   * write beside the log. The file store gives the conversation's folder itself. Bundles export
   * and import them through this.
   */
  files(conversationId: string): FileStore;

  /** Releases the store's resources (leases this store holds, connections, subscriptions). */
  close(): Promise<void>;
}
