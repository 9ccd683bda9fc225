import type { ConversationStore } from '../../../store/conversation-store';

/**
 * How the conversation store conformance suite makes and disposes of a store (the pattern of
 * LangGraph's checkpoint-validation initializers).
 */
export interface ConversationStoreInitializer<S extends ConversationStore = ConversationStore> {
  /** Names the implementation in the test report, e.g. `'FileConversationStore'`. */
  name: string;
  /** Starts shared infrastructure once for the whole suite (a database server, a temp root). */
  beforeAll?: () => Promise<void>;
  /** Stops what `beforeAll` started. */
  afterAll?: () => Promise<void>;
  /** A fresh, empty store; called once per group of tests. */
  createStore: () => Promise<S>;
  /** Closes the store and removes what `createStore` made (folders, schemas). */
  destroyStore: (store: S) => Promise<void>;
  /**
   * A second, independent handle on the same data, as another process would open it (a new
   * store object on the same folder, a new pool on the same schema). The suite closes it.
   */
  openPeer: (store: S) => Promise<ConversationStore>;
  /** Milliseconds each test (and each setup) may take; 60 000 when absent. */
  timeout?: number;
}

/** The damage hooks of an initializer; the suite checks how the store reports damage. */
export interface ConversationStoreDamage<S extends ConversationStore = ConversationStore> {
  /**
   * Damages the stored event at `sequence` behind the store's back, the way a disk or a person
   * could (a line replaced by garbage, a row's document overwritten). The store must then report
   * it with `CorruptEventLogError` naming where (`file`: the segment or table, `line`: the line
   * or sequence). Required of every store that keeps data outside the process; only a store of
   * live objects (in memory) leaves it out.
   */
  corruptEvent?: (store: S, conversationId: string, sequence: number) => Promise<void>;
  /**
   * Leaves a half-written last event behind, as a crash mid-append does. Only for stores where
   * that can happen (files); a store whose appends are transactions leaves it out.
   */
  tearLastEvent?: (store: S, conversationId: string) => Promise<void>;
}
