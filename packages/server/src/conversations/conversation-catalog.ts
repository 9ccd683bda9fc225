import {
  BASE_STATE_FILE,
  FerryError,
  conversationStateSchema,
  redactState,
  type ConversationState,
  type ConversationStore,
} from '@ferry/sdk-core';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { folderOf } from './conversation-id';

/** A conversation as listed: its state (secrets redacted) and its times. */
export interface ConversationRecord {
  state: ConversationState;
  /** ISO-8601. */
  createdAt: string;
  /** ISO-8601: the last state write or event append. */
  updatedAt: string;
}

/** A store that knows when a conversation was created and last written (`PostgresStore`). */
interface TimedStore {
  conversationTimes(id: string): Promise<{ createdAt: string; updatedAt: string } | undefined>;
}

function isTimedStore(store: ConversationStore): store is ConversationStore & TimedStore {
  return typeof (store as Partial<TimedStore>).conversationTimes === 'function';
}

/**
 * What the server reads of conversations it does not hold open: their state documents, ids and
 * times, through the `ConversationStore` (no event log is read).
 */
export class ConversationCatalog {
  /**
   * @param store Where conversations live.
   * @param folder The store's root folder when it is the file store (times come from the files).
   */
  constructor(
    readonly store: ConversationStore,
    private readonly folder: string | undefined,
  ) {}

  /** The ids of every stored conversation. */
  ids(): Promise<string[]> {
    return this.store.list();
  }

  /** The persisted state (secrets as sealed in the store), or `undefined` when there is none. */
  async readState(id: string): Promise<ConversationState | undefined> {
    const document = await this.store.readState(id);
    if (document === undefined) return undefined;
    const parsed = conversationStateSchema.safeParse(document);
    if (!parsed.success) {
      throw new FerryError(
        'INVALID_STATE_DOCUMENT',
        `${this.store.describe(id)}: the state is not a valid conversation state.`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }

  /** A record of `state`; `redact` for a persisted state (an open one is redacted already). */
  async record(id: string, state: ConversationState, redact: boolean): Promise<ConversationRecord> {
    const times = await this.#times(id);
    const createdAt = typeof state.created_at === 'string' ? state.created_at : times.createdAt;
    return { state: redact ? redactState(state) : state, createdAt, updatedAt: times.updatedAt };
  }

  async #times(id: string): Promise<{ createdAt: string; updatedAt: string }> {
    if (this.folder === undefined) {
      const times = isTimedStore(this.store) ? await this.store.conversationTimes(id) : undefined;
      const now = new Date().toISOString();
      return times ?? { createdAt: now, updatedAt: now };
    }
    const folder = join(this.folder, folderOf(id));
    const [folderStat, stateStat, lastSegment] = await Promise.all([
      stat(folder),
      stat(join(folder, BASE_STATE_FILE)),
      lastSegmentTime(folder),
    ]);
    const born = folderStat.birthtimeMs > 0 ? folderStat.birthtimeMs : folderStat.ctimeMs;
    return {
      createdAt: new Date(born).toISOString(),
      updatedAt: new Date(Math.max(stateStat.mtimeMs, lastSegment)).toISOString(),
    };
  }
}

async function lastSegmentTime(folder: string): Promise<number> {
  try {
    const names = (await readdir(join(folder, 'events'))).sort();
    const last = names.at(-1);
    return last === undefined ? 0 : (await stat(join(folder, 'events', last))).mtimeMs;
  } catch {
    return 0;
  }
}
