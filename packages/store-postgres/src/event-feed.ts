import pg from 'pg';
import type { EventBatch, StoredEvent, StoreSubscription, SubscribeOptions } from '@ferry/sdk-core';
import { translateError } from './connection';
import type { Database } from './database';
import { PostgresConnectionLostError } from './errors/postgres-connection-lost-error';
import { SQL } from './sql';

/** Reads a page of a conversation's log from a sequence number. */
export type ReadPage = (
  conversationId: string,
  from: number,
  limit: number,
) => Promise<StoredEvent[]>;

const PAGE = 500;
const RECONNECT_ATTEMPTS = 5;

/**
 * Live events for one store: a single LISTEN connection, however many subscriptions. A
 * notification only says "conversation X now has N events"; each subscription then reads the
 * rows after the last one it delivered, so notifications that PostgreSQL coalesces, or that are
 * missed while the connection is re-established, lose nothing.
 */
export class EventFeed {
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly subscriptions = new Map<string, Set<FeedSubscription>>();

  constructor(
    private readonly database: Database,
    private readonly readPage: ReadPage,
  ) {}

  /** Starts delivering events of `conversationId` from `options.from`; resolves once live. */
  async subscribe(conversationId: string, options: SubscribeOptions): Promise<StoreSubscription> {
    await this.listen();
    const subscription = new FeedSubscription(conversationId, options, this.readPage, () => {
      this.subscriptions.get(conversationId)?.delete(subscription);
    });
    let set = this.subscriptions.get(conversationId);
    if (set === undefined) {
      set = new Set();
      this.subscriptions.set(conversationId, set);
    }
    set.add(subscription);
    // Whatever is already in the log from `from` on; later appends arrive by notification.
    subscription.wake();
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.subscriptions.values()) {
      for (const subscription of set) await subscription.close();
    }
    this.subscriptions.clear();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  private listen(): Promise<void> {
    if (this.listener !== undefined) return Promise.resolve();
    this.connecting ??= this.openListener().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openListener(): Promise<void> {
    const client = new pg.Client(this.database.settings.client);
    client.on('notification', (message) => this.notified(message.payload));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(SQL.listen);
    } catch (error) {
      await client.end().catch(() => {});
      throw translateError(error, this.database.location, 'listening for new events');
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
  }

  private notified(payload: string | undefined): void {
    const [schema, conversationId, what] = (payload ?? '').split(':');
    if (schema !== this.database.settings.schema || conversationId === undefined) return;
    for (const subscription of this.subscriptions.get(conversationId) ?? []) {
      if (what === 'deleted' || what === 'replaced') subscription.deleted(what === 'replaced');
      else subscription.wake();
    }
  }

  /** The LISTEN connection broke: open another, then let every subscription catch up. */
  private lost(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = undefined;
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let failure: unknown;
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS && !this.closed; attempt += 1) {
      try {
        await this.listen();
        // A deletion announced while LISTEN was down was missed: each subscription checks.
        await Promise.all(
          [...this.subscriptions.values()].flatMap((set) =>
            [...set].map((subscription) => subscription.caughtUp()),
          ),
        );
        return;
      } catch (error) {
        failure = error;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
    if (this.closed) return;
    const error = new PostgresConnectionLostError(
      this.database.location,
      'listening for new events',
      { cause: failure },
    );
    for (const set of this.subscriptions.values()) {
      for (const subscription of set) subscription.fail(error);
    }
  }
}

/** One subscriber's position and its delivery loop (never two deliveries at once). */
class FeedSubscription implements StoreSubscription {
  private next: number;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** A deletion announced and not yet told to the subscriber. */
  private deletion: { replaced: boolean } | undefined;
  /** The id of the last event delivered (at `next - 1`), to tell the same log from a new one. */
  private lastId: string | undefined;

  constructor(
    private readonly conversationId: string,
    private readonly options: SubscribeOptions,
    private readonly readPage: ReadPage,
    private readonly detach: () => void,
  ) {
    this.next = options.from;
  }

  /** Something may have been appended: read and deliver it (after the delivery in progress). */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) this.wake();
    });
  }

  /** The conversation was deleted: tell the subscriber once the delivery in progress is done. */
  deleted(replaced: boolean): void {
    if (this.stopped) return;
    this.deletion = { replaced };
    this.wake();
  }

  /**
   * Back from a lost LISTEN connection: a deletion announced meanwhile was not heard. The log
   * is still the one delivered from if its event at `next - 1` is the one delivered last;
   * otherwise it was deleted (`replaced` when a new log is there). Then reads what it missed.
   */
  async caughtUp(): Promise<void> {
    if (this.stopped) return;
    const position = this.next - 1;
    const lastId = this.lastId;
    if (this.deletion === undefined && position >= 0 && lastId !== undefined) {
      try {
        const [event] = await this.readPage(this.conversationId, position, 1);
        if (event?.id !== lastId && this.next - 1 === position) {
          const replaced =
            event !== undefined || (await this.readPage(this.conversationId, 0, 1)).length > 0;
          this.deleted(replaced);
          return;
        }
      } catch {
        // The reads below report a store that stays unreachable.
      }
    }
    this.wake();
  }

  fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.detach();
    this.report(error);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.detach();
    await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      for (;;) {
        if (this.stopped) return;
        // Before any read: rows read after a deletion belong to the conversation written again.
        await this.tellDeletion();
        if (this.stopped) return;
        let events: StoredEvent[];
        try {
          events = await this.readPage(this.conversationId, this.next, PAGE);
        } catch (error) {
          this.fail(error);
          return;
        }
        if (this.stopped || events.length === 0) break;
        const batch: EventBatch = { conversationId: this.conversationId, from: this.next, events };
        this.next += events.length;
        this.lastId = events.at(-1)?.id;
        try {
          await this.options.onEvents(batch);
        } catch (error) {
          this.report(error);
        }
        if (events.length < PAGE) break;
      }
      await this.tellDeletion();
    } while (this.again && !this.stopped);
  }

  /** Tells the subscriber of a pending deletion; the log written again starts from 0. */
  private async tellDeletion(): Promise<void> {
    const deletion = this.deletion;
    if (deletion === undefined || this.stopped) return;
    this.deletion = undefined;
    this.next = 0;
    this.lastId = undefined;
    try {
      await this.options.onDeleted?.(deletion);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    const onError = this.options.onError ?? ((problem: unknown) => console.warn(problem));
    onError(error);
  }
}
