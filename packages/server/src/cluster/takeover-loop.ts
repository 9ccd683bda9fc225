import { ConversationLockedError } from '@ferry/sdk-core';
import type { FastifyBaseLogger } from 'fastify';
import type { ConversationManager } from '../conversations/conversation-manager';
import { describeError } from '../conversations/open-conversation';
import type { ClusterStore } from './cluster-store';

/** Conversations taken over at once. */
const TAKEOVER_CONCURRENCY = 8;

/**
 * A replica's watch for conversations whose owner died: every `periodMs` it asks the store for
 * leases that expired (or whose process on this host is gone), and takes over those whose run
 * was going: the interruption is recorded as the resume contract says, and the run continues
 * here (unless `--no-continue-runs`). When several replicas race, the store gives the lease to
 * one; the others find it locked and leave it.
 */
export class TakeoverLoop {
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly options: {
      store: ClusterStore;
      manager: ConversationManager;
      periodMs: number;
      log: FastifyBaseLogger;
    },
  ) {}

  /** Scans once (resolving when done: a restarted server has its runs back first), then every period. */
  async start(): Promise<void> {
    this.#tick();
    await this.#scanning;
    this.#timer = setInterval(() => this.#tick(), this.options.periodMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#scanning;
  }

  #tick(): void {
    if (this.#scanning !== undefined || this.#stopped) return;
    this.#scanning = this.#scan()
      .catch((error: unknown) => {
        this.options.log.warn({ err: describeError(error) }, 'takeover scan failed; retrying');
      })
      .finally(() => {
        this.#scanning = undefined;
      });
  }

  async #scan(): Promise<void> {
    const { store, manager, log } = this.options;
    const queue = await store.staleLeases();
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !this.#stopped; id = queue.shift()) {
        try {
          const state = await store.readState(id);
          if (state?.execution_status !== 'running' || manager.isOpen(id)) continue;
          await manager.takeOver(id);
        } catch (error) {
          if (ConversationLockedError.isInstance(error)) continue;
          log.warn({ conversation_id: id, err: describeError(error) }, 'takeover failed');
        }
      }
    };
    await Promise.all(Array.from({ length: TAKEOVER_CONCURRENCY }, worker));
  }
}
