import type { ConversationLease, ConversationState } from '@ferry/sdk-core';
import type { FastifyBaseLogger } from 'fastify';
import { describeError, type CloseReason, type OpenConversation } from './open-conversation';

/** What {@link ConversationRecovery} uses of its `ConversationManager`. */
export interface RecoveryHost {
  readonly log: FastifyBaseLogger;
  /** Whether an interrupted run goes on here once taken over. */
  continuesRuns(): boolean;
  /** Every stored conversation's id. */
  ids(): Promise<string[]>;
  readState(id: string): Promise<ConversationState | undefined>;
  /** The conversation open now, if it is. */
  entry(id: string): OpenConversation | undefined;
  acquire(id: string): Promise<OpenConversation>;
  release(entry: OpenConversation): void;
  evict(id: string, reason: CloseReason): Promise<void>;
}

/**
 * Runs whose owner stopped: taking over a conversation left `running` (this server before a
 * restart, or a dead replica), and stopping one whose lease another replica took.
 */
export class ConversationRecovery {
  readonly #host: RecoveryHost;

  constructor(host: RecoveryHost) {
    this.#host = host;
  }

  /** Takes over every stored conversation left `running` (a single server, at start). */
  async recoverInterrupted(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.#host.ids();
    } catch {
      return;
    }
    for (const id of ids) {
      try {
        const state = await this.#host.readState(id);
        if (state?.execution_status === 'running') await this.takeOver(id);
      } catch (error) {
        this.#host.log.warn(
          { conversation_id: id, err: describeError(error) },
          'could not recover an interrupted conversation; it is recovered when next used',
        );
      }
    }
  }

  /** See `ConversationManager.takeOver`. */
  async takeOver(id: string): Promise<boolean> {
    const entry = await this.#host.acquire(id);
    try {
      // A run that had ended before its owner stopped (only its `finished` status was not
      // written) is recovered as finished: continuing it would make the agent finish twice.
      const { openReport, state } = entry.conversation;
      if (!openReport.recoveredFromCrash || state.execution_status !== 'error') return false;
      if (!this.#host.continuesRuns()) return false;
      this.#host.log.info({ conversation_id: id }, 'continuing a run its owner left running');
      await entry.ensureRunning();
      return true;
    } finally {
      this.#host.release(entry);
    }
  }

  /** A lease of this server was taken over: its conversation stops here without writing. */
  leaseLost(lease: ConversationLease): void {
    const entry = this.#host.entry(lease.conversationId);
    if (entry === undefined || entry.conversation.lease.token !== lease.token) return;
    this.dropLost(entry, `lease token ${lease.token} was taken over by another replica`);
  }

  /** Stops `entry` here (it is evicted): another replica holds its lease now. */
  dropLost(entry: OpenConversation, why: string): void {
    if (this.#host.entry(entry.id) !== entry) return;
    this.#host.log.error(
      { conversation_id: entry.id },
      `lost the conversation's lease (${why}): stopping its run here; the database refuses this replica's writes to it`,
    );
    void this.#host.evict(entry.id, 'replaced');
  }
}
