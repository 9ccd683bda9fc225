import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockOwner } from '../errors/index';
import { ConversationLockedError, FerryError } from '../errors/index';
import type { FileStore } from './file-store';
import { formatJson } from './json-file';
import { normalizeStorePath, parentStorePath } from './store-path';
import { hasErrorCode } from './system-error';
import { validTtl } from '../store/lease-ttl';

/** Options of `ConversationLock.acquire`. */
export interface ConversationLockOptions {
  /** The conversation's store. */
  store: FileStore;
  /** The lock file's path in the store (default `.lock`). */
  path?: string;
  /** Told when a stale lock is taken over (default `console.warn`). */
  onWarning?: (message: string) => void;
  /**
   * Milliseconds the lock lasts unless renewed; after that anyone may take it over. Absent: no
   * expiry (the lock lasts until released or its process ends).
   */
  ttlMs?: number;
}

/**
 * The lock file: its owner, an id telling this lock apart from others of the same process, the
 * fencing token, and when it lapses. Files of earlier releases have neither token (read as 0)
 * nor expiry.
 */
interface LockRecord extends LockOwner {
  lock_id: string;
  token: number;
  expires_at?: string;
}

/** How often acquiring retries when other processes race for the same stale lock. */
const MAX_ATTEMPTS = 5;

/** Ids of the locks held by this process, so a second open here is refused like one elsewhere. */
const heldLocks = new Set<string>();

/** The last token this process gave out per lock file, so tokens grow even after a release. */
const lastTokens = new Map<string, number>();

/**
 * A token larger than the previous owner's and every earlier one of this process. The clock is
 * the floor so that a lock taken after a clean release (which removes the file) in another
 * process still gets a larger token.
 */
function nextToken(location: string, previous: number): number {
  const token = Math.max(previous + 1, (lastTokens.get(location) ?? 0) + 1, Date.now());
  lastTokens.set(location, token);
  return token;
}

/**
 * Exclusive ownership of a conversation folder, recorded in its `.lock` file as
 * `{pid, hostname, started_at}` so that two live owners never write the same conversation,
 * plus a fencing token (larger on every new owner) and, with a TTL, an expiry.
 */
export class ConversationLock implements AsyncDisposable {
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly store: FileStore,
    /** The lock file's path in the store. */
    readonly path: string,
    private record: LockRecord,
    private readonly ttlMs: number | undefined,
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
    const ttlMs = validTtl(options.ttlMs);
    const location = store.describe(path);
    let previousToken = 0;
    let lastOwner: LockOwner | undefined;

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const started = new Date();
      const record: LockRecord = {
        pid: process.pid,
        hostname: hostname(),
        started_at: started.toISOString(),
        lock_id: randomUUID(),
        token: nextToken(location, previousToken),
        ...(ttlMs === undefined
          ? {}
          : { expires_at: new Date(started.getTime() + ttlMs).toISOString() }),
      };
      // Not synced: a lock only matters while its owner lives, and a crash that could lose
      // the file ends its owner too (one left behind is stale and taken over). Tokens stay
      // larger than every earlier owner's without it (their floor is the clock).
      if (await store.createExclusive(path, formatJson(record), { fsync: false })) {
        heldLocks.add(record.lock_id);
        return new ConversationLock(store, path, record, ttlMs);
      }
      const existing = await store.readText(path);
      if (existing === undefined) continue; // released meanwhile: try again
      const owner = parseLockRecord(existing);
      if (owner === undefined) {
        warn(`Taking over the lock ${location}: its content is not a valid lock record.`);
      } else {
        lastOwner = ownerOf(owner);
        previousToken = Math.max(previousToken, owner.token ?? 0);
        if (!isStale(owner)) {
          throw new ConversationLockedError(store.describe(parentStorePath(path)), ownerOf(owner));
        }
        warn(
          `Taking over the stale lock ${location} of process ${owner.pid} on ${owner.hostname} ` +
            `(since ${owner.started_at}), which no longer holds it` +
            (owner.expires_at === undefined ? '.' : ` (it expired at ${owner.expires_at}).`),
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

  /** The fencing token: larger than that of every earlier owner of this lock file. */
  get token(): number {
    return this.record.token;
  }

  /** When the lock lapses unless renewed (ISO-8601), or `undefined` without a TTL. */
  get expiresAt(): string | undefined {
    return this.record.expires_at;
  }

  /**
   * The token of the lock file's current owner when that is not this lock (taken over, removed,
   * released): `null` when it is still this lock's, `undefined` when the file is gone or unreadable.
   */
  async currentHolder(): Promise<null | { token: number | undefined }> {
    if (this.releasing === undefined) {
      const text = await this.store.readText(this.path);
      const record = text === undefined ? undefined : parseLockRecord(text);
      if (record?.lock_id === this.record.lock_id) return null;
      return { token: record?.token };
    }
    return { token: undefined };
  }

  /**
   * Extends the lock by its TTL (or `ttlMs`) from now, keeping the token. Resolves `false`,
   * changing nothing, when the lock is no longer this one's.
   */
  async renew(ttlMs?: number): Promise<boolean> {
    const ttl = validTtl(ttlMs) ?? this.ttlMs;
    if ((await this.currentHolder()) !== null) return false;
    if (ttl === undefined) return true;
    const record = { ...this.record, expires_at: new Date(Date.now() + ttl).toISOString() };
    await this.store.writeAtomic(this.path, formatJson(record));
    this.record = record;
    return true;
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
  if (owner.expires_at !== undefined && Date.parse(owner.expires_at) <= Date.now()) return true;
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
  const { pid, hostname: host, started_at: startedAt, lock_id: lockId, token } = record;
  const expiresAt = record.expires_at;
  if (!Number.isSafeInteger(pid) || typeof pid !== 'number' || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
  return {
    pid,
    hostname: host,
    started_at: startedAt,
    ...(typeof lockId === 'string' ? { lock_id: lockId } : {}),
    ...(typeof token === 'number' && Number.isSafeInteger(token) && token > 0 ? { token } : {}),
    ...(typeof expiresAt === 'string' && !Number.isNaN(Date.parse(expiresAt))
      ? { expires_at: expiresAt }
      : {}),
  };
}
