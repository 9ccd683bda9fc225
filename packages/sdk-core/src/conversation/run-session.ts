import { newEventEnvelope } from '../event/event-base';
import type { Event, InterruptEvent } from '../event/event-schemas';
import type { ToolDefinition } from '../tool/tool-definition';
import type { ToolRegistry } from '../tool/tool-registry';
import type { EventIndex } from './conversation-log';
import { FAILED_RUN_ACTION_ERROR, answersForInterruptedActions } from './recover-interrupted-run';
import { INTERRUPTED_ACTION_ERROR, failRun, runLoop, type RunHost } from './run-loop';
import type { ExecutionStatus } from './state-schema';

/** What one `run()` of a conversation needs of it. */
export interface RunSession {
  host: RunHost;
  log: EventIndex;
  status(): ExecutionStatus;
  /** The tools of this run: the registry with the MCP servers' tools, and those alone. */
  tools(): Promise<{ tools: ToolRegistry; autoTools: ToolDefinition[] }>;
  appendEvents(events: readonly Event[]): Promise<void>;
  setStatus(status: ExecutionStatus): Promise<void>;
  maskSecrets(text: string): string;
  /** Records `error` in memory only, when the store refuses the write. */
  markErrorInMemory(): void;
  persistState(): Promise<void>;
}

/**
 * Runs the agent until the status leaves `running` (see `LocalConversation.run`): answers the
 * actions a failed run left, runs the loop, and on an interrupt or a failure answers every
 * action left without a result, so the LLM is never told an action did not run.
 */
export async function runSession(
  session: RunSession,
  signal: AbortSignal,
): Promise<ExecutionStatus> {
  const { host, log } = session;
  // Running again while actions wait for confirmation accepts them.
  const executePending = session.status() === 'waiting_for_confirmation';
  if (session.status() === 'error') {
    // A run that failed while the disk refused writes could not answer its action in flight.
    const answers = answersForInterruptedActions(log, FAILED_RUN_ACTION_ERROR);
    if (answers.length > 0) await session.appendEvents(answers);
  }
  await session.setStatus('running');
  let failed = false;
  try {
    const { tools, autoTools } = await session.tools();
    const status = await runLoop(host, { tools, autoTools, signal, executePending });
    // Interrupted between two awaits: the loop saw the pause request before the abort.
    if (signal.aborted && status === 'paused') await session.appendEvents([interruptEvent()]);
    return status;
  } catch (error) {
    if (signal.aborted) {
      const answers = answersForInterruptedActions(log, INTERRUPTED_ACTION_ERROR);
      if (answers.length > 0) await session.appendEvents(answers);
      await session.setStatus('paused');
      await session.appendEvents([interruptEvent()]);
      return 'paused';
    }
    const detail = error instanceof Error ? error.message : String(error);
    const answers = answersForInterruptedActions(
      log,
      session.maskSecrets(
        `The run stopped with an error before this action's result was recorded (${detail}); it may or may not have taken effect.`,
      ),
    );
    failed = true;
    await session.appendEvents(answers).catch(() => undefined);
    await failRun(host, error).catch(() => {
      // The store refuses writes: the run is over all the same, so say so in memory. The next
      // run() answers the actions left without a result (see above).
      session.markErrorInMemory();
    });
    throw error;
  } finally {
    // After a failure, the run's own error matters more than a state that cannot be written.
    await session.persistState().catch((persistError: unknown) => {
      if (!failed) throw persistError;
    });
  }
}

/** What `interrupt()` records once the run has stopped, as OpenHands' `InterruptEvent`. */
function interruptEvent(): InterruptEvent {
  return { ...newEventEnvelope(), source: 'user', kind: 'InterruptEvent' };
}
