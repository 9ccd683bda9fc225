import { hostname } from 'node:os';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { DuplicateEventIdError } from '../errors/duplicate-event-id-error';
import { LeaseLostError } from '../errors/lease-lost-error';
import type { FileStore } from '../persistence/file-store';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { prepareStoredEvent, type StoredEvent } from '../persistence/stored-event';
import { canonicalConversationId, conversationFolderName } from './conversation-id';
import type {
  AcquireLeaseOptions,
  AppendResult,
  ConversationLease,
  ConversationStore,
  DeleteConversationOptions,
  ReadEventsOptions,
  RenewLeaseOptions,
  StoredState,
  StoreSubscription,
  SubscribeOptions,
} from './conversation-store';
import { validTtl } from './lease-ttl';
import { SubscriptionHub } from './subscription-hub';

/** Options of {@link InMemoryConversationStore}. */
export interface InMemoryConversationStoreOptions {
  /**
   * Share the conversations of another in-memory store: a second handle on the same data, as a
   * second process would have on a database (its own leases and subscriptions).
   */
  sharedWith?: InMemoryConversationStore;
}

interface HeldLease {
  lease: ConversationLease;
  ttlMs: number | undefined;
  /** Milliseconds since the epoch, or `undefined` without a TTL. */
  expires: number | undefined;
}

interface MemoryConversation {
  /** The state as JSON text: what is read back is always a fresh copy. */
  state: string | undefined;
  events: StoredEvent[];
  ids: Set<string>;
  lease: HeldLease | undefined;
  lastToken: number;
}

interface MemoryData {
  conversations: Map<string, MemoryConversation>;
  hub: SubscriptionHub;
  files: InMemoryFileStore;
}

/**
 * A `ConversationStore` held in memory: for tests, benchmarks and conversations that need not
 * outlive the process. It keeps the full contract (fenced leases with tokens, expiry, duplicate
 * ids refused, subscriptions without gaps) so code tried on it behaves the same on disk or in
 * PostgreSQL. Events and states are stored as JSON copies.
 */
export class InMemoryConversationStore implements ConversationStore {
  readonly #data: MemoryData;
  readonly #subscriptions = new Set<StoreSubscription>();
  /** Tokens of the leases this handle took, to release them on close. */
  readonly #mine = new Map<string, number>();

  constructor(options: InMemoryConversationStoreOptions = {}) {
    const shared = options.sharedWith;
    this.#data =
      shared === undefined
        ? { conversations: new Map(), hub: new SubscriptionHub(), files: new InMemoryFileStore() }
        : shared.#data;
  }

  describe(conversationId?: string): string {
    if (conversationId === undefined) return this.#data.files.describe('');
    return this.#data.files.describe(conversationFolderName(conversationId));
  }

  files(conversationId: string): FileStore {
    return this.#data.files.scope(conversationFolderName(conversationId));
  }

  acquireLease(
    conversationId: string,
    options: AcquireLeaseOptions = {},
  ): Promise<ConversationLease> {
    return settle(() => {
      const id = canonicalConversationId(conversationId);
      const ttlMs = validTtl(options.ttlMs);
      const conversation = this.#conversation(id, true);
      const held = conversation.lease;
      if (held !== undefined) {
        if (held.expires === undefined || held.expires > Date.now()) {
          throw new ConversationLockedError(this.describe(id), held.lease.owner);
        }
        options.onWarning?.(
          `Taking over the expired lease (token ${held.lease.token}) of conversation ${id}.`,
        );
      }
      const now = Date.now();
      const token = conversation.lastToken + 1;
      conversation.lastToken = token;
      const expires = ttlMs === undefined ? undefined : now + ttlMs;
      const lease: ConversationLease = {
        conversationId: id,
        token,
        owner: { pid: process.pid, hostname: hostname(), started_at: new Date(now).toISOString() },
        expiresAt: expires === undefined ? undefined : new Date(expires).toISOString(),
      };
      conversation.lease = { lease, ttlMs, expires };
      this.#mine.set(`${id}/${token}`, token);
      return lease;
    });
  }

  renewLease(
    lease: ConversationLease,
    options: RenewLeaseOptions = {},
  ): Promise<ConversationLease> {
    return settle(() => {
      const { held } = this.#current(lease);
      const ttlMs = validTtl(options.ttlMs) ?? held.ttlMs;
      if (ttlMs === undefined) return held.lease;
      held.expires = Date.now() + ttlMs;
      held.lease = { ...held.lease, expiresAt: new Date(held.expires).toISOString() };
      return held.lease;
    });
  }

  releaseLease(lease: ConversationLease): Promise<void> {
    return settle(() => {
      const id = canonicalConversationId(lease.conversationId);
      this.#mine.delete(`${id}/${lease.token}`);
      const conversation = this.#data.conversations.get(id);
      if (conversation?.lease?.lease.token !== lease.token) return;
      conversation.lease = undefined;
    });
  }

  readState(conversationId: string): Promise<StoredState | undefined> {
    return settle(() => {
      const state = this.#conversation(canonicalConversationId(conversationId), false)?.state;
      return state === undefined ? undefined : (JSON.parse(state) as StoredState);
    });
  }

  writeState(lease: ConversationLease, state: StoredState): Promise<void> {
    return settle(() => {
      const text = JSON.stringify(state);
      this.#current(lease).conversation.state = text;
    });
  }

  appendEvents(lease: ConversationLease, events: readonly StoredEvent[]): Promise<AppendResult> {
    return settle(() => {
      const prepared = events.map((event) => prepareStoredEvent(event).event);
      const { conversation } = this.#current(lease);
      const batch = new Set<string>();
      for (const event of prepared) {
        if (conversation.ids.has(event.id) || batch.has(event.id)) {
          throw new DuplicateEventIdError(event.id, this.describe(lease.conversationId));
        }
        batch.add(event.id);
      }
      const from = conversation.events.length;
      for (const event of prepared) {
        conversation.ids.add(event.id);
        conversation.events.push(event);
      }
      this.#data.hub.announce({ conversationId: lease.conversationId, from, events: prepared });
      return { from, next: conversation.events.length };
    });
  }

  readEvents(conversationId: string, options: ReadEventsOptions = {}): Promise<StoredEvent[]> {
    return settle(() => this.readEventsSync(conversationId, options));
  }

  /** {@link ConversationStore.readEventsSync}: memory answers at once. */
  readEventsSync(conversationId: string, options: ReadEventsOptions = {}): StoredEvent[] {
    const events = this.#conversation(canonicalConversationId(conversationId), false)?.events;
    const from = Math.max(0, options.from ?? 0);
    const end = options.limit === undefined ? undefined : from + Math.max(0, options.limit);
    return events?.slice(from, end) ?? [];
  }

  eventCount(conversationId: string): Promise<number> {
    return settle(
      () => this.#conversation(canonicalConversationId(conversationId), false)?.events.length ?? 0,
    );
  }

  async subscribe(conversationId: string, options: SubscribeOptions): Promise<StoreSubscription> {
    const id = canonicalConversationId(conversationId);
    const subscription = await this.#data.hub.subscribe(id, options, (from) =>
      this.readEvents(id, { from }),
    );
    this.#subscriptions.add(subscription);
    return {
      close: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  list(): Promise<string[]> {
    return settle(() =>
      [...this.#data.conversations.entries()]
        .filter(([, conversation]) => conversation.state !== undefined)
        .map(([id]) => id)
        .sort(),
    );
  }

  async deleteConversation(
    conversationId: string,
    lease?: ConversationLease,
    options: DeleteConversationOptions = {},
  ): Promise<boolean> {
    const id = canonicalConversationId(conversationId);
    const conversation = this.#data.conversations.get(id);
    if (conversation === undefined) return false;
    const own = lease ?? (await this.acquireLease(id));
    this.#current(own);
    const existed = conversation.state !== undefined || conversation.events.length > 0;
    // The token history stays, so a new conversation with this id still gets larger tokens.
    conversation.state = undefined;
    conversation.events = [];
    conversation.ids = new Set();
    // Told before the lease goes, so no new writer's appends are announced first.
    if (existed) this.#data.hub.announceDeleted(id, options.replacing ?? false);
    conversation.lease = undefined;
    this.#mine.delete(`${id}/${own.token}`);
    await this.#data.files.remove(conversationFolderName(id), { recursive: true });
    return existed;
  }

  async close(): Promise<void> {
    for (const subscription of [...this.#subscriptions]) await subscription.close();
    this.#subscriptions.clear();
    for (const key of [...this.#mine.keys()]) {
      const [id = '', token = ''] = key.split('/');
      const lease = this.#data.conversations.get(id)?.lease?.lease;
      if (lease?.token === Number(token)) await this.releaseLease(lease);
    }
    this.#mine.clear();
  }

  #conversation(id: string, create: true): MemoryConversation;
  #conversation(id: string, create: false): MemoryConversation | undefined;
  #conversation(id: string, create: boolean): MemoryConversation | undefined {
    let conversation = this.#data.conversations.get(id);
    if (conversation === undefined && create) {
      conversation = {
        state: undefined,
        events: [],
        ids: new Set(),
        lease: undefined,
        lastToken: 0,
      };
      this.#data.conversations.set(id, conversation);
    }
    return conversation;
  }

  /** The conversation and its lease when `lease` is the current one; `LeaseLostError` otherwise. */
  #current(lease: ConversationLease): { conversation: MemoryConversation; held: HeldLease } {
    const id = canonicalConversationId(lease.conversationId);
    const conversation = this.#data.conversations.get(id);
    const held = conversation?.lease;
    if (conversation === undefined || held === undefined || held.lease.token !== lease.token) {
      throw new LeaseLostError(id, lease.token, held?.lease.token, this.describe(id));
    }
    return { conversation, held };
  }
}

/** Runs synchronous store work as a promise, so errors arrive as rejections like other stores'. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
