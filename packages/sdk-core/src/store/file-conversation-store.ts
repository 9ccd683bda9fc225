import { FerryError } from '../errors/ferry-error';
import { LeaseLostError } from '../errors/lease-lost-error';
import { ConversationLock } from '../persistence/conversation-lock';
import { EventLog } from '../persistence/event-log';
import type { FileStore } from '../persistence/file-store';
import { readJson, writeJsonAtomic } from '../persistence/json-file';
import { LocalFileStore } from '../persistence/local-file-store';
import { takeScannedLog } from '../persistence/scanned-log';
import type { StoredEvent } from '../persistence/stored-event';
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
import { BASE_STATE_FILE, CONVERSATION_FOLDER, LOCK_FILE } from './file-layout';
import { SubscriptionHub } from './subscription-hub';

/** Options of {@link FileConversationStore}: a folder, or a {@link FileStore} to write through. */
export type FileConversationStoreOptions = (
  | {
      /** The root folder; conversation `<id>` lives in `<root>/<id without dashes>/`. */
      root: string;
      files?: undefined;
    }
  | {
      /** The root as a `FileStore` (e.g. `InMemoryFileStore`, or a wrapper injecting faults). */
      files: FileStore;
      root?: undefined;
    }
) & {
  /** fsync every append and state write (default `true`). */
  fsync?: boolean;
  /** A new event segment starts past this many bytes (default 32 MiB). */
  segmentMaxBytes?: number;
  /**
   * Logs of at least this many events keep an index (`events/index.json`, written when the lease
   * is released, and at once when a lease finds that many events not indexed), so that a resume
   * reads only what it needs. Smaller logs are read whole, which costs less than keeping it.
   * Default 1000.
   */
  indexFromEvents?: number;
};

interface Held {
  lease: ConversationLease;
  lock: ConversationLock;
  log: EventLog;
}

/** The default {@link FileConversationStoreOptions.indexFromEvents}. */
export const DEFAULT_INDEX_FROM_EVENTS = 1000;

/** Writes the log's index; losing it costs only a full read at the next open. */
async function writeIndexQuietly(log: EventLog): Promise<void> {
  try {
    await log.writeIndex();
  } catch {
    // A read-only or full disk: the next open reads every line and tries again.
  }
}

/** Appends announced per folder tree, so every store object of this process on it hears them. */
const localHubs = new Map<string, SubscriptionHub>();
const otherHubs = new WeakMap<FileStore, SubscriptionHub>();

function hubFor(files: FileStore): SubscriptionHub {
  if (files instanceof LocalFileStore) {
    let hub = localHubs.get(files.root);
    if (hub === undefined) {
      hub = new SubscriptionHub();
      localHubs.set(files.root, hub);
    }
    return hub;
  }
  let hub = otherHubs.get(files);
  if (hub === undefined) {
    hub = new SubscriptionHub();
    otherHubs.set(files, hub);
  }
  return hub;
}

/** Work on one conversation folder that must not interleave within this process (check, then write). */
const folderQueues = new Map<string, Promise<unknown>>();

function inFolderQueue<T>(location: string, task: () => Promise<T>): Promise<T> {
  const previous = folderQueues.get(location) ?? Promise.resolve();
  const result = previous.then(task, task);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  folderQueues.set(location, settled);
  void settled.then(() => {
    if (folderQueues.get(location) === settled) folderQueues.delete(location);
  });
  return result;
}

/**
 * The embedded store: every conversation in a folder, `<root>/<id without dashes>/`, laid out as
 * Ferry always has (`base_state.json`, `events/segment-NNNNNN.jsonl`, `.lock`, side files), so
 * folders written by earlier releases open unchanged.
 *
 * The lease is the folder's `.lock` owner record `{pid, hostname, started_at}`, plus a fencing
 * `token` that every new owner increases and, with a TTL, `expires_at`. A lock whose process on
 * this host is gone, or that has expired, is taken over. Each write first checks that `.lock` is
 * still this lease's; within a process, the check and the write are one step. Across machines,
 * use a database store: a shared folder has no atomic compare-and-write.
 *
 * Subscriptions hear the appends made by every `FileConversationStore` of this process on the
 * same folder.
 */
export class FileConversationStore implements ConversationStore {
  /** The root as a file store (conversation folders are its `scope(<id without dashes>)`). */
  readonly fileStore: FileStore;
  readonly #fsync: boolean;
  readonly #segmentMaxBytes: number | undefined;
  readonly #indexFromEvents: number;
  readonly #held = new Map<string, Held>();
  readonly #subscriptions = new Set<StoreSubscription>();
  readonly #hub: SubscriptionHub;

  constructor(options: FileConversationStoreOptions) {
    this.fileStore = options.files ?? new LocalFileStore({ root: options.root });
    this.#fsync = options.fsync ?? true;
    this.#segmentMaxBytes = options.segmentMaxBytes;
    this.#indexFromEvents = options.indexFromEvents ?? DEFAULT_INDEX_FROM_EVENTS;
    this.#hub = hubFor(this.fileStore);
  }

  describe(conversationId?: string): string {
    if (conversationId === undefined) return this.fileStore.describe('');
    return this.fileStore.describe(conversationFolderName(conversationId));
  }

  files(conversationId: string): FileStore {
    return this.fileStore.scope(conversationFolderName(conversationId));
  }

  async acquireLease(
    conversationId: string,
    options: AcquireLeaseOptions = {},
  ): Promise<ConversationLease> {
    const id = canonicalConversationId(conversationId);
    const folder = this.files(id);
    return inFolderQueue(folder.describe(''), async () => {
      const lock = await ConversationLock.acquire({
        store: folder,
        onWarning: options.onWarning ?? console.warn,
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      });
      let log: EventLog;
      try {
        log = await EventLog.open({
          store: folder,
          fsync: this.#fsync,
          lazy: true,
          // An import of this process just checked every line of it: not read again.
          scanned: takeScannedLog(folder),
          ...(this.#segmentMaxBytes === undefined
            ? {}
            : { segmentMaxBytes: this.#segmentMaxBytes }),
          ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
        });
      } catch (error) {
        await this.#releaseLock(folder, lock);
        throw error;
      }
      const lease: ConversationLease = {
        conversationId: id,
        token: lock.token,
        owner: lock.owner,
        expiresAt: lock.expiresAt,
      };
      // An expired lease of this store taken over just now: its log is done with.
      await this.#held.get(id)?.log.close();
      this.#held.set(id, { lease, lock, log });
      // A long history found without a current index (an older release, a crash): index it now.
      if (log.unindexedEvents >= Math.max(1, this.#indexFromEvents)) await log.writeIndex();
      return lease;
    });
  }

  async renewLease(
    lease: ConversationLease,
    options: RenewLeaseOptions = {},
  ): Promise<ConversationLease> {
    return this.#fenced(lease, async (held) => {
      if (!(await held.lock.renew(options.ttlMs))) throw await this.#lost(lease);
      const renewed = { ...held.lease, expiresAt: held.lock.expiresAt };
      held.lease = renewed;
      return renewed;
    });
  }

  async releaseLease(lease: ConversationLease): Promise<void> {
    const id = canonicalConversationId(lease.conversationId);
    const held = this.#held.get(id);
    if (held === undefined || held.lease.token !== lease.token) return;
    const folder = this.files(id);
    await inFolderQueue(folder.describe(''), async () => {
      if (this.#held.get(id) !== held) return;
      this.#held.delete(id);
      await held.log.close();
      if (held.log.length >= Math.max(1, this.#indexFromEvents)) await writeIndexQuietly(held.log);
      await this.#releaseLock(folder, held.lock);
    });
  }

  async readState(conversationId: string): Promise<StoredState | undefined> {
    const folder = this.files(conversationId);
    const value = await readJson(folder, BASE_STATE_FILE);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new FerryError(
        'INVALID_STATE_DOCUMENT',
        `${folder.describe(BASE_STATE_FILE)} is not a conversation state: it is not a JSON object.`,
      );
    }
    return value as StoredState;
  }

  async writeState(lease: ConversationLease, state: StoredState): Promise<void> {
    await this.#fenced(lease, async () => {
      await writeJsonAtomic(this.files(lease.conversationId), BASE_STATE_FILE, state);
    });
  }

  async appendEvents(
    lease: ConversationLease,
    events: readonly StoredEvent[],
  ): Promise<AppendResult> {
    const result = await this.#fenced(lease, async (held) => {
      const from = held.log.length;
      await held.log.appendMany(events);
      return { from, next: held.log.length, appended: held.log.slice(from) };
    });
    this.#hub.announce({
      conversationId: lease.conversationId,
      from: result.from,
      events: result.appended,
    });
    return { from: result.from, next: result.next };
  }

  async readEvents(
    conversationId: string,
    options: ReadEventsOptions = {},
  ): Promise<StoredEvent[]> {
    const from = Math.max(0, options.from ?? 0);
    const end = options.limit === undefined ? undefined : from + Math.max(0, options.limit);
    const log = await this.#readableLog(conversationId);
    return log.read(from, end);
  }

  /**
   * {@link ConversationStore.readEventsSync}: the held log's events, history read from the folder
   * synchronously. `undefined` for a conversation this store holds no lease on, or whose file
   * store cannot read synchronously.
   */
  readEventsSync(
    conversationId: string,
    options: ReadEventsOptions = {},
  ): StoredEvent[] | undefined {
    const held = this.#held.get(canonicalConversationId(conversationId));
    if (held === undefined || this.fileStore.readRangeSync === undefined) return undefined;
    const from = Math.max(0, options.from ?? 0);
    const end = options.limit === undefined ? undefined : from + Math.max(0, options.limit);
    return held.log.slice(from, end);
  }

  /**
   * {@link ConversationStore.findEventSync}: the held log's lookup by id hash, which reads only
   * the older events whose id hash matches. `undefined` as for `readEventsSync`.
   */
  findEventSync(conversationId: string, eventId: string): number | undefined {
    const held = this.#held.get(canonicalConversationId(conversationId));
    if (held === undefined || this.fileStore.readRangeSync === undefined) return undefined;
    return held.log.indexOf(eventId);
  }

  async eventCount(conversationId: string): Promise<number> {
    return (await this.#readableLog(conversationId)).length;
  }

  async subscribe(conversationId: string, options: SubscribeOptions): Promise<StoreSubscription> {
    const id = canonicalConversationId(conversationId);
    const subscription = await this.#hub.subscribe(id, options, (from) =>
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

  async list(): Promise<string[]> {
    const ids: string[] = [];
    for (const name of await this.fileStore.list('')) {
      if (!CONVERSATION_FOLDER.test(name)) continue;
      if (await this.fileStore.exists(`${name}/${BASE_STATE_FILE}`)) {
        ids.push(canonicalConversationId(name));
      }
    }
    return ids.sort();
  }

  async deleteConversation(
    conversationId: string,
    lease?: ConversationLease,
    options: DeleteConversationOptions = {},
  ): Promise<boolean> {
    const id = canonicalConversationId(conversationId);
    const folder = this.files(id);
    if (lease === undefined && !(await folder.exists(''))) return false;
    const own = lease ?? (await this.acquireLease(id, { onWarning: () => undefined }));
    return this.#fenced(own, async (held) => {
      const existed = (await folder.list('')).some((name) => name !== LOCK_FILE);
      this.#held.delete(id);
      await held.log.close();
      // The lock goes with the folder; the lock object must not remove a successor's file.
      await this.fileStore.remove(conversationFolderName(id), { recursive: true });
      // Told before the lock goes, so no new writer's appends are announced first.
      if (existed) this.#hub.announceDeleted(id, options.replacing ?? false);
      await held.lock.release();
      return existed;
    });
  }

  async close(): Promise<void> {
    for (const subscription of [...this.#subscriptions]) await subscription.close();
    this.#subscriptions.clear();
    for (const held of [...this.#held.values()]) await this.releaseLease(held.lease);
  }

  /** The conversation's log for reading: this store's open one, or a fresh read of the folder. */
  async #readableLog(conversationId: string): Promise<EventLog> {
    const id = canonicalConversationId(conversationId);
    const held = this.#held.get(id);
    if (held !== undefined) return held.log;
    return EventLog.open({ store: this.files(id), readOnly: true, lazy: true });
  }

  /** Runs a write only while `lease` is current, as one step with the check. */
  #fenced<T>(lease: ConversationLease, write: (held: Held) => Promise<T>): Promise<T> {
    const id = canonicalConversationId(lease.conversationId);
    const folder = this.files(id);
    return inFolderQueue(folder.describe(''), async () => {
      const held = this.#held.get(id);
      if (
        held === undefined ||
        held.lease.token !== lease.token ||
        (await held.lock.currentHolder()) !== null
      ) {
        throw await this.#lost(lease);
      }
      return write(held);
    });
  }

  async #lost(lease: ConversationLease): Promise<LeaseLostError> {
    const id = canonicalConversationId(lease.conversationId);
    const held = this.#held.get(id);
    if (held !== undefined && held.lease.token === lease.token) {
      // Taken over by another owner (or its lock file removed): this store holds nothing now.
      this.#held.delete(id);
      await held.log.close();
      await held.lock.release();
    }
    const current =
      held !== undefined && held.lease.token !== lease.token
        ? held.lease.token
        : await this.#tokenOnDisk(id);
    return new LeaseLostError(id, lease.token, current, this.describe(id));
  }

  async #tokenOnDisk(id: string): Promise<number | undefined> {
    const text = await this.files(id).readText(LOCK_FILE);
    if (text === undefined) return undefined;
    try {
      const token = (JSON.parse(text) as { token?: unknown }).token;
      return typeof token === 'number' ? token : undefined;
    } catch {
      return undefined;
    }
  }

  /** Releases the lock, and removes the folder when the lease left nothing else in it. */
  async #releaseLock(folder: FileStore, lock: ConversationLock): Promise<void> {
    await lock.release();
    if ((await folder.list('')).length === 0) {
      await folder.remove('').catch(() => undefined);
    }
  }
}
