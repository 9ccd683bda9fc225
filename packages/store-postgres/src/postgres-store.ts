import type {
  AcquireLeaseOptions,
  AppendResult,
  ConversationLease,
  DeleteConversationOptions,
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
import { readDocument, updateDocument } from './documents';
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

/** A lease this store took, with its TTL and whether the store renews it (taken without `ttlMs`). */
interface HeldLease {
  lease: ConversationLease;
  ttlMs: number;
  renewed: boolean;
}

/** Who holds a conversation's lease, from {@link PostgresStore.leaseHolder}. */
export interface LeaseHolder {
  /** The lease's fencing token. */
  token: number;
  /** The holding process. */
  owner: LockOwner;
  /** Where the holder answers requests, when it advertised one (see {@link PostgresStore.advertise}). */
  endpoint: string | undefined;
  /** Whether the lease is still in force (not expired). */
  live: boolean;
  /** Whether this store holds it. */
  mine: boolean;
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
  private readonly leaseLostListeners = new Set<(lease: ConversationLease) => void>();
  private closing: Promise<void> | undefined;
  private endpoint: string | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private renewals = 0;

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
    const owner = currentOwner(this.endpoint);
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
    this.held.set(lease.token, { lease, ttlMs, renewed });
    if (renewed) this.startRenewing();
    return lease;
  }

  /**
   * Records where this process answers requests for the conversations it holds (a cluster
   * replica's URL), in the owner record of every lease taken from now on; others read it with
   * {@link leaseHolder}.
   */
  advertise(endpoint: string): void {
    this.endpoint = endpoint;
  }

  /**
   * Tells `listener` about each lease this store renews (taken without `ttlMs`) that turned out
   * lost: taken over by another owner after this process stalled past its TTL. The store refuses
   * the conversation's writes from then on; the listener stops what uses it. Returns the
   * function that removes the listener.
   */
  onLeaseLost(listener: (lease: ConversationLease) => void): () => void {
    this.leaseLostListeners.add(listener);
    return () => this.leaseLostListeners.delete(listener);
  }

  /** Who holds the conversation's lease, or `undefined` when nobody does. */
  async leaseHolder(conversationId: string): Promise<LeaseHolder | undefined> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const { rows } = await this.database.query<{
      lease_token: string | null;
      lease_owner: string | null;
      live: boolean | null;
    }>('reading a lease', SQL.leaseHolder, [id]);
    const row = rows[0];
    if (row === undefined || row.lease_token === null) return undefined;
    const token = Number(row.lease_token);
    const owner = parseOwner(row.lease_owner);
    return {
      token,
      owner: owner === undefined ? unknownOwner() : lockOwner(owner),
      endpoint: owner?.endpoint,
      // A holder on this host whose process is gone holds nothing any more.
      live: row.live === true && !(owner !== undefined && isGoneLocalProcess(owner)),
      mine: this.held.has(token),
    };
  }

  /**
   * Conversations (with a state) whose lease another owner holds but has lost the right to: it
   * expired, or its process on this host is gone. A cluster replica takes these over.
   */
  async staleLeases(): Promise<string[]> {
    this.ensureOpen();
    const { rows } = await this.database.query<{
      id: string;
      lease_token: string;
      lease_owner: string | null;
      expired: boolean;
    }>('listing leases', SQL.heldLeases);
    return rows
      .filter((row) => !this.held.has(Number(row.lease_token)))
      .filter((row) => {
        if (row.expired) return true;
        const owner = parseOwner(row.lease_owner);
        return owner !== undefined && isGoneLocalProcess(owner);
      })
      .map((row) => row.id);
  }

  /** When the conversation was created and last written, or `undefined` when it does not exist. */
  async conversationTimes(
    conversationId: string,
  ): Promise<{ createdAt: string; updatedAt: string } | undefined> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const { rows } = await this.database.query<{ created_at: Date; updated_at: Date }>(
      'reading conversation times',
      SQL.conversationTimes,
      [id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
  }

  /**
   * Resolves once the database answers a query; rejects with the store's typed error
   * (`PostgresUnavailableError`, `PostgresConnectionLostError`) while it does not.
   */
  async ping(): Promise<void> {
    this.ensureOpen();
    await this.database.query('checking the connection', SQL.ping);
  }

  /**
   * Statements this store has sent to renew leases. All the leases it renews go in one
   * statement every third of the TTL, however many there are.
   */
  get renewalStatements(): number {
    return this.renewals;
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
    const keepsRenewing = held?.renewed === true && options.ttlMs === undefined;
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

  async deleteConversation(
    conversationId: string,
    lease?: ConversationLease,
    options: DeleteConversationOptions = {},
  ): Promise<boolean> {
    const id = canonicalConversationId(conversationId);
    this.ensureOpen();
    const replacing = options.replacing ?? false;
    if (lease !== undefined) {
      if (canonicalConversationId(lease.conversationId) !== id) throw await this.leaseLost(lease);
      return this.deleteWith(lease, replacing);
    }
    const own = await this.acquireLease(id, { ttlMs: this.database.settings.leaseTtlMs });
    try {
      return await this.deleteWith(own, replacing);
    } finally {
      await this.releaseLease(own);
    }
  }

  files(conversationId: string): FileStore {
    const id = canonicalConversationId(conversationId);
    return new PostgresFileStore(this.database, id, '', this.fileStats);
  }

  /**
   * A named text document the processes sharing this database share too (a Ferry server keeps
   * its settings here in a cluster), or `undefined` when none was written. Kept byte for byte.
   */
  async readDocument(name: string): Promise<string | undefined> {
    this.ensureOpen();
    return readDocument(this.database, name);
  }

  /**
   * Replaces the named document with `change(current)`, holding the document's lock in one
   * transaction, so concurrent updates from any process apply one after the other and none is
   * lost. When `change` throws, nothing is written and its error is thrown.
   */
  async updateDocument(
    name: string,
    change: (current: string | undefined) => string,
  ): Promise<void> {
    this.ensureOpen();
    await updateDocument(this.database, name, change);
  }

  /** Stops renewing and releases this store's leases, ends live events, and closes the pool. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.renewTimer);
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

  private async deleteWith(lease: ConversationLease, replacing: boolean): Promise<boolean> {
    const { rows } = await this.database.query<{ r_status: 'deleted' | 'empty' | 'lease_lost' }>(
      'deleting a conversation',
      SQL.deleteConversation,
      [lease.conversationId, lease.token, replacing],
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

  /** Starts the one timer that renews every lease taken without `ttlMs`, every third of the TTL. */
  private startRenewing(): void {
    if (this.renewTimer !== undefined) return;
    const period = Math.max(this.database.settings.leaseTtlMs / 3, 10);
    this.renewTimer = setInterval(() => void this.renewAll(), period);
    this.renewTimer.unref();
  }

  /** Renews all renewed leases in one statement; those it no longer holds are lost. */
  private async renewAll(): Promise<void> {
    if (this.closing !== undefined || this.renewing) return;
    const due = [...this.held.values()].filter((held) => held.renewed);
    if (due.length === 0) return;
    this.renewing = true;
    try {
      this.renewals += 1;
      const { rows } = await this.database.query<{ lease_token: string }>(
        'renewing leases',
        SQL.renewLeases,
        [
          due.map((held) => held.lease.conversationId),
          due.map((held) => held.lease.token),
          due.map((held) => held.ttlMs),
        ],
      );
      const kept = new Set(rows.map((row) => Number(row.lease_token)));
      for (const held of due) {
        // Released while the statement ran, or still held: nothing to tell.
        if (kept.has(held.lease.token) || this.held.get(held.lease.token) !== held) continue;
        this.forget(held.lease.token);
        for (const listener of this.leaseLostListeners) listener(held.lease);
      }
    } catch {
      // The server is unreachable for now; the next beat tries again before the leases lapse.
    } finally {
      this.renewing = false;
    }
  }

  private forget(token: number): void {
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
