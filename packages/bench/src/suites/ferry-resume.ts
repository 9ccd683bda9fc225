import { LocalConversation, buildLLMContext, providerIdentity } from '@ferry/sdk-core';
import { peakRssMiB } from '../harness/child';
import { elapsedMs } from '../harness/stats';
import { benchAgent, benchWorkspace } from '../fixtures/write-fixtures';
import type { ResumeFixture, ResumeSample } from './resume-approaches';

/**
 * A cold resume, once, in this (fresh) process: `LocalConversation.open` with a runtime agent
 * (lock, state, verification, every line of the log read and checked), then the next LLM
 * request built with `buildLLMContext` (every event parsed into its typed document).
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
  const context = buildLLMContext({
    events: conversation.events,
    agent: conversation.agent,
    provider: providerIdentity(conversation.agent.llm),
  });
  const totalMs = elapsedMs(start);
  const events = conversation.events.length;
  await conversation.close();
  if (context.messages.length === 0) throw new Error('ferry: empty LLM context');
  if (events !== fixture.count) {
    throw new Error(`ferry: read ${events} events, expected ${fixture.count}`);
  }
  return { approach: 'ferry', loadMs, totalMs, events, peakRssMiB: peakRssMiB() };
}
