import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockOwner } from '../errors/index';
import { ConversationLockedError, FerryError } from '../errors/index';
import type { FileStore } from './file-store';
import { formatJson } from './json-file';
import { normalizeStorePath, parentStorePath } from './store-path';
import { hasErrorCode } from './system-error';

/** Options of `ConversationLock.acquire`. */
export interface ConversationLockOptions {
  /** The conversation's store. */
  store: FileStore;
  /** The lock file's path in the store (default `.lock`). */
  path?: string;
  /** Told when a stale lock is taken over (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/** The lock file: its owner, plus an id telling this lock apart from others of the same process. */
interface LockRecord extends LockOwner {
  lock_id: string;
}

/** How often acquiring retries when other processes race for the same stale lock. */
const MAX_ATTEMPTS = 5;

/** Ids of the locks held by this process, so a second open here is refused like one elsewhere. */
const heldLocks = new Set<string>();

/**
 * Exclusive ownership of a conversation folder, recorded in its `.lock` file as
 * `{pid, hostname, started_at}` so that two live owners never write the same conversation.
 */
export class ConversationLock implements AsyncDisposable {
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly store: FileStore,
    /** The lock file's path in the store. */
    readonly path: string,
    private readonly record: LockRecord,
  ) {}

  /**
   * Takes the lock, creating the lock file exclusively.
   *
   * An existing lock is taken over, with a warning, when it is stale: its process on this host
   * is gone, it is unreadable, or this process wrote it but no longer holds it. Otherwise
   * (a live process here, another lock object in this process, or any process on another host,
   * whose liveness cannot be checked) it throws `ConversationLockedError`.
   */
  static async acquire(options: ConversationLockOptions): Promise<ConversationLock> {
    const { store } = options;
    const path = normalizeStorePath(options.path ?? '.lock');
    const warn = options.onWarning ?? console.warn;
    const record: LockRecord = {
      pid: process.pid,
      hostname: hostname(),
      started_at: new Date().toISOString(),
      lock_id: randomUUID(),
    };
    const content = formatJson(record);
    let lastOwner: LockOwner | undefined;

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      if (await store.createExclusive(path, content)) {
        heldLocks.add(record.lock_id);
        return new ConversationLock(store, path, record);
      }
      const existing = await store.readText(path);
      if (existing === undefined) continue; // released meanwhile: try again
      const owner = parseLockRecord(existing);
      const location = store.describe(path);
      if (owner === undefined) {
        warn(`Taking over the lock ${location}: its content is not a valid lock record.`);
      } else {
        lastOwner = ownerOf(owner);
        if (!isStale(owner)) {
          throw new ConversationLockedError(store.describe(parentStorePath(path)), ownerOf(owner));
        }
        warn(
          `Taking over the stale lock ${location} of process ${owner.pid} on ${owner.hostname} ` +
            `(since ${owner.started_at}), which no longer holds it.`,
        );
      }
      // Remove it only if it is still the stale one just read, not a fresh lock of a racer.
      if ((await store.readText(path)) === existing) await store.remove(path);
    }
    if (lastOwner !== undefined) {
      throw new ConversationLockedError(store.describe(parentStorePath(path)), lastOwner);
    }
    throw new FerryError(
      'CONVERSATION_LOCK_CONTENDED',
      `Could not take the lock ${store.describe(path)}: other processes keep replacing it.`,
    );
  }

  /** Who holds this lock (this process). */
  get owner(): LockOwner {
    return ownerOf(this.record);
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.releasing !== undefined;
  }

  /**
   * Gives the lock up, removing the lock file only if it is still this lock's (another owner may
   * have taken a lock it believed stale). Calling it again does nothing more.
   */
  release(): Promise<void> {
    this.releasing ??= this.removeIfOurs();
    return this.releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async removeIfOurs(): Promise<void> {
    heldLocks.delete(this.record.lock_id);
    const current = await this.store.readText(this.path);
    if (current !== undefined && parseLockRecord(current)?.lock_id === this.record.lock_id) {
      await this.store.remove(this.path);
    }
  }
}

function ownerOf(record: LockOwner): LockOwner {
  return { pid: record.pid, hostname: record.hostname, started_at: record.started_at };
}

/** Whether a lock's owner is known not to hold it any more. */
function isStale(owner: Partial<LockRecord> & LockOwner): boolean {
  if (owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) {
    return owner.lock_id === undefined || !heldLocks.has(owner.lock_id);
  }
  return !isProcessAlive(owner.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return !hasErrorCode(error, 'ESRCH');
  }
}

function parseLockRecord(text: string): (Partial<LockRecord> & LockOwner) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, hostname: host, started_at: startedAt, lock_id: lockId } = record;
  if (!Number.isSafeInteger(pid) || typeof pid !== 'number' || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
  return {
    pid,
    hostname: host,
    started_at: startedAt,
    ...(typeof lockId === 'string' ? { lock_id: lockId } : {}),
  };
}
