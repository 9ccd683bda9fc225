import {
  ConversationRunningError,
  LeaseLostError,
  type AnyEvent,
  type LocalConversation,
} from '@ferry/sdk-core';
import type { LocalWorkspace } from '@ferry/workspace-local';
import type { FastifyBaseLogger } from 'fastify';

/** Why an open conversation was closed, as told to its subscribers. */
export type CloseReason = 'idle' | 'deleted' | 'shutdown' | 'replaced';

/**
 * A conversation the server holds open: the `LocalConversation`, its `LocalWorkspace`, and what
 * keeps it from being evicted (leases held by requests and sockets, a run in the background).
 */
export class OpenConversation {
  /** Requests and sockets using it now; it is never evicted while any is held. */
  leases = 0;
  /** When it was last used (epoch ms), for idle eviction. */
  lastUsed = Date.now();
  /** Event sockets subscribed to it now. */
  subscribers = 0;

  readonly #log: FastifyBaseLogger;
  readonly #closeListeners = new Set<(reason: CloseReason) => void>();
  readonly #settledListeners = new Set<() => void>();
  #background: Promise<void> | undefined;

  /**
   * @param onLeaseLost Told when background work failed because another owner took the
   *   conversation's lease over (the store refused a write): the conversation must stop here.
   */
  constructor(
    readonly conversation: LocalConversation,
    readonly workspace: LocalWorkspace,
    log: FastifyBaseLogger,
    private readonly onLeaseLost?: (error: Error) => void,
  ) {
    this.#log = log;
  }

  get id(): string {
    return this.conversation.id;
  }

  /** True while a run (or other background work on it) is going. */
  get busy(): boolean {
    return this.conversation.isRunning || this.#background !== undefined;
  }

  /**
   * Starts `run()` in the background and resolves once it has started. Its failure is recorded by the
   * conversation as a `ConversationErrorEvent`; here it is only logged.
   *
   * @throws ConversationRunningError when a run is going.
   * @throws ConversationTeleportedError, ConversationClosedError from `run()`.
   */
  async startRun(): Promise<void> {
    await this.settle();
    if (this.conversation.isRunning) throw new ConversationRunningError(this.id, 'start a run');
    await this.#begin(() => this.conversation.run(), 'run');
  }

  /** Starts a run unless one is going (a running loop picks new messages up at its next step). */
  async ensureRunning(): Promise<void> {
    await this.settle();
    if (!this.conversation.isRunning) await this.#begin(() => this.conversation.run(), 'run');
  }

  /**
   * Starts `start()` in the background and resolves once it has recorded its first status
   * change (or ended), so a client reading the state right after sees the run. When it fails
   * before recording any status change (the disk refused to record `running`), nothing ran:
   * the failure is thrown, so the client is not told a run started.
   */
  #begin(start: () => Promise<unknown>, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let started = false;
      const off = this.conversation.onEvent((event) => {
        if (event.kind === 'ConversationStateUpdateEvent' && event.key === 'execution_status') {
          started = true;
          off();
          resolve();
        }
      });
      let work: Promise<unknown>;
      try {
        work = start();
      } catch (error) {
        off();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.track(work, what);
      work.then(
        () => {
          off();
          resolve();
        },
        (error: unknown) => {
          off();
          if (started) resolve();
          else reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /**
   * Waits for a run whose status has already left `running` to wrap up (it still writes its
   * last state), so a client that saw `finished` can go on at once.
   */
  async settle(): Promise<void> {
    while (
      this.conversation.isRunning &&
      this.conversation.status !== 'running' &&
      this.#background !== undefined
    ) {
      await this.#background;
    }
  }

  /**
   * Answers the actions waiting for confirmation. Accepting executes them and goes on running,
   * in the background like {@link startRun}; rejecting answers them at once. When nothing waits
   * it does what OpenHands' server does: accepting starts a run unless one is going (as
   * `POST .../run`, without the 409), rejecting changes nothing.
   */
  async respondToConfirmation(response: { accept: boolean; reason?: string }): Promise<void> {
    await this.settle();
    if (this.conversation.status !== 'waiting_for_confirmation' || this.conversation.isRunning) {
      if (response.accept) await this.ensureRunning();
      return;
    }
    if (response.accept) {
      await this.#begin(() => this.conversation.respondToConfirmation(response), 'confirmed run');
    } else {
      await this.conversation.respondToConfirmation(response);
    }
  }

  /** Keeps the conversation open until `work` settles; a failure is logged, not thrown. */
  track(work: Promise<unknown>, what: string): void {
    const tracked: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => {
        if (LeaseLostError.isInstance(error)) this.onLeaseLost?.(error);
        this.#log.warn(
          { conversation_id: this.id, err: describeError(error) },
          `conversation ${what} failed`,
        );
      },
    );
    this.#background = tracked;
    void tracked.finally(() => {
      if (this.#background === tracked) this.#background = undefined;
      this.lastUsed = Date.now();
      for (const listener of this.#settledListeners) listener();
    });
  }

  /** Subscribes to new events; returns the function that unsubscribes. */
  onEvent(listener: (event: AnyEvent) => void): () => void {
    return this.conversation.onEvent(listener);
  }

  /**
   * Told each time background work (a run) has ended and its last events are in the log: where
   * OpenHands' server publishes its post-run state snapshot.
   */
  onSettled(listener: () => void): () => void {
    this.#settledListeners.add(listener);
    return () => this.#settledListeners.delete(listener);
  }

  /** Told once when the server closes the conversation (idle, deleted, shutdown). */
  onClose(listener: (reason: CloseReason) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Interrupts a run, flushes, releases the lock and closes the workspace. */
  async close(reason: CloseReason): Promise<void> {
    for (const listener of this.#closeListeners) {
      try {
        listener(reason);
      } catch (error) {
        this.#log.warn({ err: describeError(error) }, 'a close listener threw');
      }
    }
    this.#closeListeners.clear();
    try {
      await this.conversation.close();
    } finally {
      await this.workspace.close();
    }
  }
}

/** An error as logged: its name, code and message, never a stack of request data. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) };
  }
  return { message: String(error) };
}
