import type {
  AcquireLeaseOptions,
  AppendResult,
  ConversationLease,
  ConversationStore,
  FileStore,
  FileStoreStats,
  LockOwner,
  ReadEventsOptions,
  RenewLeaseOptions,
  StoredEvent,
  StoredState,
  StoreSubscription,
  SubscribeOptions,
} from '@ferry/sdk-core';
import {
  canonicalConversationId,
  ConversationLockedError,
  CorruptEventLogError,
  DuplicateEventIdError,
  FerryError,
  LeaseLostError,
  storedEventProblem,
} from '@ferry/sdk-core';
import type { PostgresStoreOptions } from './connection';
import { connectionSettings } from './connection';
import { Database } from './database';
import { EventFeed } from './event-feed';
import { PostgresFileStore } from './files/postgres-file-store';
import type { OwnerRecord } from './local-process';
import { currentOwner, isGoneLocalProcess, lockOwner, parseOwner } from './local-process';
import { SQL } from './sql';

interface AcquireRow {
  r_acquired: boolean;
  r_token: string;
  r_expires_at: Date;
  r_previous_token: string | null;
  r_previous_owner: string | null;
  r_previous_expired: boolean;
}

/** A lease this store took, with its TTL and (for leases without `ttlMs`) its renewal timer. */
interface HeldLease {
  lease: ConversationLease;
  ttlMs: number;
  heartbeat: NodeJS.Timeout | undefined;
}

/**
 * Conversations in PostgreSQL: a `ConversationStore` for `LocalConversation.open({ store })`
 * (and the server) with the same contract as the file store.
 *
 * Every append and state write is one transaction that commits only while the writer's lease
 * token is current, so an owner that was paused or cut off and then taken over can never write
 * again. New events are announced with `NOTIFY`; subscribers read rows by sequence number, so a
 * coalesced or missed notification loses nothing.
 *
 * ```ts
 * const store = await PostgresStore.connect({ connectionString: process.env.DATABASE_URL! });
 * try {
 *   const conversation = await LocalConversation.open({ store, agent, workspace });
 *   // ...
 * } finally {
 *   await store.close();
 * }
 * ```
 */
export class PostgresStore implements ConversationStore {
  private readonly feed: EventFeed;
  private readonly held = new Map<number, HeldLease>();
  private readonly fileStats: FileStoreStats = { fsyncs: 0, writes: 0 };
  private closing: Promise<void> | undefined;

  private constructor(private readonly database: Database) {
    this.feed = new EventFeed(database, (id, from, limit) => this.readEvents(id, { from, limit }));
  }

  /**
   * Connects, applies the package's migrations the database lacks (safe while other processes
   * connect at once), and resolves with a ready store. Close it with `close()`.
   *
   * @throws InvalidDatabaseUrlError for a connection string that is not a PostgreSQL URL.
   * @throws PostgresUnavailableError when the server cannot be reached or refuses the login or
   *   the database (the message says what to do).
   * @throws PostgresSchemaTooNewError when a newer `@ferry/store-postgres` migrated the database.
   */
  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    const database = new Database(connectionSettings(options));
    try {
      await database.migrate();
    } catch (error) {
      await database.end().catch(() => {});
      throw error;
    }
    return new PostgresStore(database);
  }

  /** The schema holding this store's tables. */
  get schema(): string {
    return this.database.settings.schema;
  }

  describe(conversationId?: string): string {
    const { location } = this.database;
    if (conversationId === undefined) return location;
    return `${location} conversation ${canonicalConversationId(conversationId)}`;
  }

  async acquireLease(
    conversationId: string,
    options: AcquireLeaseOptions = {},
  ): Promise<ConversationLease> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const renewed = options.ttlMs === undefined;
    const ttlMs = this.ttl(options.ttlMs);
    const owner = currentOwner();
    let row = await this.tryAcquire(id, owner, ttlMs, null);
    if (!row.r_acquired) {
      const holder = parseOwner(row.r_previous_owner);
      if (holder !== undefined && isGoneLocalProcess(holder)) {
        row = await this.tryAcquire(id, owner, ttlMs, row.r_previous_token);
      }
      if (!row.r_acquired) {
        throw new ConversationLockedError(
          this.describe(id),
          holder === undefined ? unknownOwner() : lockOwner(holder),
        );
      }
    }
    if (row.r_previous_token !== null) {
      const previous = parseOwner(row.r_previous_owner);
      const who =
        previous === undefined
          ? 'an unknown owner'
          : `process ${previous.pid} on ${previous.hostname} (since ${previous.started_at})`;
      options.onWarning?.(
        `Took over the lease on ${this.describe(id)} from ${who}: ` +
          (row.r_previous_expired ? 'it expired.' : 'that process is gone.'),
      );
    }
    const lease: ConversationLease = {
      conversationId: id,
      token: Number(row.r_token),
      owner: lockOwner(owner),
      expiresAt: renewed ? undefined : row.r_expires_at.toISOString(),
    };
    const held: HeldLease = { lease, ttlMs, heartbeat: undefined };
    if (renewed) {
      held.heartbeat = setInterval(() => void this.heartbeat(held), Math.max(ttlMs / 3, 10));
      held.heartbeat.unref();
    }
    this.held.set(lease.token, held);
    return lease;
  }

  async renewLease(
    lease: ConversationLease,
    options: RenewLeaseOptions = {},
  ): Promise<ConversationLease> {
    this.ensureOpen();
    const held = this.held.get(lease.token);
    const ttlMs = this.ttl(options.ttlMs ?? held?.ttlMs);
    const { rows } = await this.database.query<{ lease_expires_at: Date }>(
      'renewing a lease',
      SQL.renewLease,
      [canonicalConversationId(lease.conversationId), lease.token, ttlMs],
    );
    const expiry = rows[0]?.lease_expires_at;
    if (expiry === undefined) throw await this.leaseLost(lease);
    const keepsRenewing = held?.heartbeat !== undefined && options.ttlMs === undefined;
    return { ...lease, expiresAt: keepsRenewing ? undefined : expiry.toISOString() };
  }

  async releaseLease(lease: ConversationLease): Promise<void> {
    this.forget(lease.token);
    this.ensureOpen();
    await this.database.query('releasing a lease', SQL.releaseLease, [
      canonicalConversationId(lease.conversationId),
      lease.token,
    ]);
  }

  async readState(conversationId: string): Promise<StoredState | undefined> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const { rows } = await this.database.query<{ state: string | null }>(
      'reading a state document',
      SQL.readState,
      [id],
    );
    const text = rows[0]?.state;
    if (text === undefined || text === null) return undefined;
    try {
      const state: unknown = JSON.parse(text);
      if (typeof state === 'object' && state !== null && !Array.isArray(state)) {
        return state as StoredState;
      }
    } catch {
      // reported below
    }
    throw new FerryError(
      'INVALID_STATE_DOCUMENT',
      `The state document of ${this.describe(id)} (table ferry_conversations) is not a JSON ` +
        'object. Restore it from a backup or delete the conversation.',
    );
  }

  async writeState(lease: ConversationLease, state: StoredState): Promise<void> {
    this.ensureOpen();
    const { rows } = await this.database.query<{ r_written: boolean }>(
      'writing a state document',
      SQL.writeState,
      [canonicalConversationId(lease.conversationId), lease.token, JSON.stringify(state)],
    );
    if (rows[0]?.r_written !== true) throw await this.leaseLost(lease);
  }

  async appendEvents(
    lease: ConversationLease,
    events: readonly StoredEvent[],
  ): Promise<AppendResult> {
    const id = canonicalConversationId(lease.conversationId);
    this.ensureOpen();
    const ids = new Set<string>();
    for (const [index, event] of events.entries()) {
      const problem = storedEventProblem(event);
      if (problem !== undefined) {
        throw new FerryError(
          'INVALID_EVENT_ENVELOPE',
          `Refusing to append events to ${this.describe(id)}: event ${index} of the batch: ${problem}. Nothing was written.`,
        );
      }
      if (ids.has(event.id)) throw new DuplicateEventIdError(event.id, this.describe(id));
      ids.add(event.id);
    }
    const { rows } = await this.database.query<{
      r_status: 'ok' | 'lease_lost' | 'duplicate';
      r_from: string | null;
      r_next: string | null;
      r_duplicate: string | null;
    }>('appending events', SQL.appendEvents, [
      id,
      lease.token,
      events.map((event) => event.id),
      events.map((event) => event.kind),
      events.map((event) => JSON.stringify(event)),
    ]);
    const row = rows[0];
    if (row?.r_status === 'duplicate') {
      throw new DuplicateEventIdError(row.r_duplicate ?? '', this.describe(id));
    }
    if (row?.r_status !== 'ok') throw await this.leaseLost(lease);
    return { from: Number(row.r_from), next: Number(row.r_next) };
  }

  async readEvents(
    conversationId: string,
    options: ReadEventsOptions = {},
  ): Promise<StoredEvent[]> {
    const id = canonicalConversationId(conversationId);
    const from = options.from ?? 0;
    const limit = options.limit;
    if (!Number.isSafeInteger(from) || from < 0 || (limit !== undefined && limit < 0)) {
      throw new FerryError(
        'INVALID_EVENT_RANGE',
        `readEvents needs a non-negative integer from and limit (got from ${from}, limit ${String(limit)}).`,
      );
    }
    if (limit === 0) return [];
    this.ensureOpen();
    const { rows } = await this.database.query<{ sequence: string; document: string }>(
      'reading events',
      SQL.readEvents,
      [id, from, limit ?? null],
    );
    const where = `${this.describe(id)}, table ferry_events`;
    return rows.map((row, index) => {
      const sequence = Number(row.sequence);
      if (sequence !== from + index) {
        throw new CorruptEventLogError(where, from + index + 1, `event ${from + index} is missing`);
      }
      let event: unknown;
      try {
        event = JSON.parse(row.document);
      } catch {
        throw new CorruptEventLogError(where, sequence + 1, `event ${sequence} is not valid JSON`);
      }
      const problem = storedEventProblem(event);
      if (problem !== undefined) {
        throw new CorruptEventLogError(where, sequence + 1, `event ${sequence}: ${problem}`);
      }
      return event as StoredEvent;
    });
  }

  async eventCount(conversationId: string): Promise<number> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const { rows } = await this.database.query<{ event_count: string }>(
      'counting events',
      SQL.eventCount,
      [id],
    );
    return Number(rows[0]?.event_count ?? 0);
  }

  subscribe(conversationId: string, options: SubscribeOptions): Promise<StoreSubscription> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    if (!Number.isSafeInteger(options.from) || options.from < 0) {
      throw new FerryError(
        'INVALID_EVENT_RANGE',
        `subscribe needs a non-negative integer from (got ${options.from}).`,
      );
    }
    return this.feed.subscribe(id, options);
  }

  async list(): Promise<string[]> {
    this.ensureOpen();
    const { rows } = await this.database.query<{ id: string }>('listing conversations', SQL.list);
    return rows.map((row) => row.id);
  }

  async deleteConversation(conversationId: string, lease?: ConversationLease): Promise<boolean> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    if (lease !== undefined) {
      if (canonicalConversationId(lease.conversationId) !== id) throw await this.leaseLost(lease);
      return this.deleteWith(lease);
    }
    const own = await this.acquireLease(id, { ttlMs: this.database.settings.leaseTtlMs });
    try {
      return await this.deleteWith(own);
    } finally {
      await this.releaseLease(own);
    }
  }

  files(conversationId: string): FileStore {
    const id = canonicalConversationId(conversationId);
    return new PostgresFileStore(this.database, id, '', this.fileStats);
  }

  /** Stops renewing and releases this store's leases, ends live events, and closes the pool. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.feed.close();
    const leases = [...this.held.values()].map((held) => held.lease);
    for (const lease of leases) this.forget(lease.token);
    for (const lease of leases) {
      await this.database
        .query('releasing a lease', SQL.releaseLease, [lease.conversationId, lease.token])
        .catch(() => {});
    }
    await this.database.end();
  }

  private async deleteWith(lease: ConversationLease): Promise<boolean> {
    const { rows } = await this.database.query<{ r_status: 'deleted' | 'empty' | 'lease_lost' }>(
      'deleting a conversation',
      SQL.deleteConversation,
      [lease.conversationId, lease.token],
    );
    const status = rows[0]?.r_status;
    if (status === 'lease_lost' || status === undefined) throw await this.leaseLost(lease);
    this.forget(lease.token);
    return status === 'deleted';
  }

  private async tryAcquire(
    id: string,
    owner: OwnerRecord,
    ttlMs: number,
    takeToken: string | null,
  ): Promise<AcquireRow> {
    const { rows } = await this.database.query<AcquireRow>('taking a lease', SQL.acquireLease, [
      id,
      JSON.stringify(owner),
      ttlMs,
      takeToken,
    ]);
    const row = rows[0];
    if (row === undefined) throw new Error('ferry_acquire_lease returned no row');
    return row;
  }

  /** Keeps a lease taken without `ttlMs` alive while this process runs. */
  private async heartbeat(held: HeldLease): Promise<void> {
    if (this.closing !== undefined) return;
    const { lease, ttlMs } = held;
    try {
      const { rowCount } = await this.database.query('renewing a lease', SQL.renewLease, [
        lease.conversationId,
        lease.token,
        ttlMs,
      ]);
      // Lost (taken over after this process stalled): its writes are refused from now on.
      if (rowCount === 0) this.forget(lease.token);
    } catch {
      // The server is unreachable for now; the next beat tries again before the lease lapses.
    }
  }

  private forget(token: number): void {
    const held = this.held.get(token);
    if (held?.heartbeat !== undefined) clearInterval(held.heartbeat);
    this.held.delete(token);
  }

  /** The `LeaseLostError` for `lease`, naming the token in force now. */
  private async leaseLost(lease: ConversationLease): Promise<LeaseLostError> {
    const id = canonicalConversationId(lease.conversationId);
    const { rows } = await this.database.query<{ lease_token: string | null }>(
      'reading a lease',
      SQL.currentLease,
      [id],
    );
    const current = rows[0]?.lease_token;
    return new LeaseLostError(
      id,
      lease.token,
      current === undefined || current === null ? undefined : Number(current),
      this.describe(id),
    );
  }

  private ttl(ttlMs: number | undefined): number {
    const value = ttlMs ?? this.database.settings.leaseTtlMs;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new FerryError(
        'INVALID_LEASE_TTL',
        `A lease TTL must be a positive whole number of milliseconds, got ${String(value)}.`,
      );
    }
    return value;
  }

  private ensureOpen(): void {
    if (this.closing !== undefined) {
      throw new FerryError(
        'STORE_CLOSED',
        `The PostgresStore for ${this.database.location} is closed; connect a new one.`,
      );
    }
  }
}

function unknownOwner(): LockOwner {
  return { pid: 0, hostname: 'unknown', started_at: 'unknown' };
}
