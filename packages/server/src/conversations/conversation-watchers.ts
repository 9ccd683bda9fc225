import type { AnyEvent, LocalConversation } from '@ferry/sdk-core';

/** Told each event appended to a watched conversation. */
export type EventWatcher = (event: AnyEvent) => void;

/**
 * Listeners of conversations by id, independent of whether the conversation is open: a watcher
 * added while it is closed, being opened or open is told every event appended from then on,
 * whichever request opens it. This is what lets an events socket take its place in the log at
 * the moment it connects rather than once it has authenticated and opened the conversation
 * (events appended in between would otherwise be neither replayed nor sent live).
 */
export class ConversationWatchers {
  readonly #byId = new Map<string, Set<EventWatcher>>();

  /** Adds a watcher of conversation `id` (canonical); returns the function that removes it. */
  watch(id: string, watcher: EventWatcher): () => void {
    let watchers = this.#byId.get(id);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byId.set(id, watchers);
    }
    const set = watchers;
    set.add(watcher);
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.#byId.get(id) === set) this.#byId.delete(id);
    };
  }

  /** Forwards the events of a conversation just opened to the watchers of its id. */
  attach(conversation: LocalConversation): void {
    const id = conversation.id;
    conversation.onEvent((event) => {
      const watchers = this.#byId.get(id);
      if (watchers === undefined) return;
      for (const watcher of [...watchers]) watcher(event);
    });
  }
}
