import type { FastifyBaseLogger } from 'fastify';
import { describeError, type CloseReason, type OpenConversation } from './open-conversation';

/**
 * The conversations open in memory on this server: each opened once however many requests ask
 * for it at once, closed once, and closed after it has been idle (no request holding it, no run)
 * for `idleMs`. A conversation still closing counts as open: its lock is released only then.
 */
export class OpenConversationTable {
  /** The open conversations, by canonical id. */
  readonly entries = new Map<string, OpenConversation>();
  /** Opens (and creations) in progress: a request for the same id waits for them. */
  readonly opening = new Map<string, Promise<OpenConversation>>();
  readonly #closing = new Map<string, Promise<void>>();
  readonly #log: FastifyBaseLogger;
  readonly #idleMs: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: { log: FastifyBaseLogger; idleMs: number }) {
    this.#log = options.log;
    this.#idleMs = options.idleMs;
  }

  /** Ids of the conversations open now, those still closing included. */
  get ids(): string[] {
    return [...new Set([...this.entries.keys(), ...this.#closing.keys()])];
  }

  /** Whether the conversation (canonical id) is open now, or still closing. */
  isOpen(id: string): boolean {
    return this.entries.has(id) || this.#closing.has(id);
  }

  /**
   * The open conversation `id`, opened with `load` when it is not (after any open or close of it
   * in progress has finished).
   */
  async open(
    id: string,
    load: (id: string) => Promise<OpenConversation>,
  ): Promise<OpenConversation> {
    for (;;) {
      const entry = this.entries.get(id);
      if (entry !== undefined) return entry;
      const pending = this.opening.get(id) ?? this.#closing.get(id);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    return this.track(id, load(id));
  }

  /** Makes `opening` the open in progress of `id` until it settles; resolves as it does. */
  async track(id: string, opening: Promise<OpenConversation>): Promise<OpenConversation> {
    this.opening.set(id, opening);
    try {
      return await opening;
    } finally {
      this.opening.delete(id);
    }
  }

  /** Closes the conversation (see `OpenConversation.close`); waits for a close in progress. */
  async evict(id: string, reason: CloseReason): Promise<void> {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      await this.#closing.get(id);
      return;
    }
    this.entries.delete(id);
    const closing = entry
      .close(reason)
      .catch((error: unknown) => {
        this.#log.error({ conversation_id: id, err: describeError(error) }, 'closing failed');
      })
      .finally(() => this.#closing.delete(id));
    this.#closing.set(id, closing);
    await closing;
  }

  /** Starts closing idle conversations, checking every half idle time (50 ms to 60 s). */
  startSweeping(): void {
    const period = Math.max(50, Math.min(this.#idleMs / 2, 60_000));
    this.#sweeper = setInterval(() => this.#sweep(), period);
    this.#sweeper.unref();
  }

  /** Stops sweeping, waits for opens in progress, then closes every conversation. */
  async closeAll(reason: CloseReason): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.allSettled(this.opening.values());
    await Promise.all([...this.entries.keys()].map((id) => this.evict(id, reason)));
    await Promise.allSettled(this.#closing.values());
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.leases === 0 && !entry.busy && now - entry.lastUsed >= this.#idleMs) {
        void this.evict(id, 'idle');
      }
    }
  }
}
