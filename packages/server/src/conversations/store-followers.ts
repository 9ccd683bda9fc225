/**
 * The event sockets of a cluster replica that follow the shared store rather than an open
 * conversation, by conversation id: counted for `subscriberCount`, told when it is deleted here.
 */
export class StoreFollowers {
  readonly #byId = new Map<string, Set<() => void>>();

  /** Adds a follower of `id`; returns the function that removes it. */
  follow(id: string, onDeleted: () => void): () => void {
    const followers = this.#byId.get(id) ?? new Set<() => void>();
    this.#byId.set(id, followers);
    followers.add(onDeleted);
    return () => {
      followers.delete(onDeleted);
      if (followers.size === 0 && this.#byId.get(id) === followers) this.#byId.delete(id);
    };
  }

  /** How many sockets follow `id`. */
  count(id: string): number {
    return this.#byId.get(id)?.size ?? 0;
  }

  /** Tells every follower of `id` that the conversation was deleted. */
  deleted(id: string): void {
    for (const onDeleted of [...(this.#byId.get(id) ?? [])]) onDeleted();
  }
}
