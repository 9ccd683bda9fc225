import { LocalConversation } from '@ferry/sdk-core';
import { peakRssMiB } from '../harness/child';
import { elapsedMs } from '../harness/stats';
import { benchAgent, benchWorkspace } from '../fixtures/write-fixtures';
import type { ResumeFixture, ResumeSample } from './resume-approaches';

/**
 * A cold resume, once, in this (fresh) process: `LocalConversation.open` with a runtime agent
 * (lock, state, verification, the live context read and checked: the whole log when it has no
 * condensation), then the next LLM request built with `nextLLMContext()` (each event of the
 * live context parsed into its typed document and converted), as `run()` would send it.
 */
export async function ferryResumeOnce(fixture: ResumeFixture): Promise<ResumeSample> {
  const start = process.hrtime.bigint();
  const conversation = await LocalConversation.open({
    persistenceDir: fixture.ferryRoot,
    conversationId: fixture.conversationId,
    agent: benchAgent(),
    workspace: benchWorkspace,
  });
  const loadMs = elapsedMs(start);
  const context = conversation.nextLLMContext();
  const totalMs = elapsedMs(start);
  const events = conversation.events.length;
  const source = conversation.openReport.liveContext?.source;
  await conversation.close();
  if (context.messages.length === 0) throw new Error('ferry: empty LLM context');
  if (events !== fixture.count) {
    throw new Error(`ferry: read ${events} events, expected ${fixture.count}`);
  }
  return {
    approach: 'ferry',
    loadMs,
    totalMs,
    events,
    peakRssMiB: peakRssMiB(),
    ...(source === undefined ? {} : { liveContext: source }),
  };
}
