import { LeaseLostError } from '../errors/lease-lost-error';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';

/** Renews never more often than this (milliseconds), however short the TTL. */
const MIN_RENEW_INTERVAL_MS = 50;

/**
 * Keeps an open conversation's lease alive: a lease with an expiry is renewed every third of
 * its TTL. A failed renewal is reported (`onProblem`) and retried at the next tick, except a
 * lost lease, which ends the renewals: the store refuses the conversation's writes from then on
 * (fencing), so nothing lands after a takeover.
 */
export class LeaseKeeper {
  #lease: ConversationLease;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  constructor(
    private readonly store: ConversationStore,
    lease: ConversationLease,
    private readonly onProblem: (error: unknown) => void,
  ) {
    this.#lease = lease;
    if (lease.expiresAt === undefined) return;
    const ttl = Date.parse(lease.expiresAt) - Date.now();
    const interval = Math.max(MIN_RENEW_INTERVAL_MS, Math.floor(ttl / 3));
    this.#timer = setInterval(() => {
      this.#renewing ??= this.#renew().finally(() => {
        this.#renewing = undefined;
      });
    }, interval);
    // An open conversation alone must not keep the process alive.
    this.#timer.unref();
  }

  /** The lease as last renewed. */
  get lease(): ConversationLease {
    return this.#lease;
  }

  /** Stops renewing (before the lease is released). */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  async #renew(): Promise<void> {
    try {
      this.#lease = await this.store.renewLease(this.#lease);
    } catch (error) {
      if (LeaseLostError.isInstance(error) && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
      this.onProblem(error);
    }
  }
}
