/**
 * How many event sockets of a cluster replica follow the shared store rather than an open
 * conversation, by conversation id (for `subscriberCount`). The store itself tells them when
 * the conversation is deleted, on whichever replica (`SubscribeOptions.onDeleted`).
 */
export class StoreFollowers {
  readonly #byId = new Map<string, number>();

  /** Counts a follower of `id`; returns the function that stops counting it (once). */
  follow(id: string): () => void {
    this.#byId.set(id, this.count(id) + 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      const left = this.count(id) - 1;
      if (left > 0) this.#byId.set(id, left);
      else this.#byId.delete(id);
    };
  }

  /** How many sockets follow `id`. */
  count(id: string): number {
    return this.#byId.get(id) ?? 0;
  }
}
