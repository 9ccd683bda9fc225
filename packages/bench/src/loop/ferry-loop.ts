import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  InMemoryFileStore,
  LocalConversation,
  LocalFileStore,
  defineTool,
  type AgentInput,
  type FileStore,
  type LanguageModelFactory,
  type StoredEvent,
} from '@ferry/sdk-core';
import { benchWorkspace, writeFerryConversation } from '../fixtures/write-fixtures';
import { elapsedMs } from '../harness/stats';
import { NOOP_DESCRIPTION, NOOP_RESULT, NOOP_TOOL, ScriptCursor, loopScript } from './script';
import { IN_PROCESS_BASE_URL } from './scripted-fetch';
import { StepClock } from './step-clock';

/** What one measured run of a framework gives. */
export interface LoopRun {
  /** Median time between consecutive no-op tool executions: one steady-state step. */
  stepMs: number;
  /** Whole `run()` (start-up and shut-down included) divided by the model calls. */
  runPerCallMs: number;
  /** Median fsyncs between consecutive tool executions (Ferry only). */
  fsyncsPerStep?: number;
  /** fsyncs of the whole run divided by the model calls (Ferry only). */
  fsyncsPerCall?: number;
}

/** The agent of the loop benchmark: the in-process model and only the no-op tool. */
export function loopAgent(): AgentInput {
  return {
    llm: {
      model: 'bench-model',
      base_url: IN_PROCESS_BASE_URL,
      api_key: 'sk-bench',
      num_retries: 0,
    },
    tools: [{ name: NOOP_TOOL }],
    // The peers get only the no-op tool too.
    include_default_tools: [],
  };
}

/** A prepared Ferry conversation with `history` events, open and ready to run. */
export interface FerryLoopFixture {
  conversation: LocalConversation;
  store: FileStore;
  clock: StepClock;
}

/**
 * Writes a conversation holding `history` (into memory or a folder), opens it with the no-op
 * tool and reads every event once, as the first step after a resume does, so the run measures
 * steady-state steps.
 */
export async function prepareFerryLoop(options: {
  persistence: 'memory' | 'disk';
  dir: string;
  history: readonly StoredEvent[];
  /** The in-process model, given through Ferry's `languageModel` seam; else the provider is used. */
  languageModel?: LanguageModelFactory;
}): Promise<FerryLoopFixture> {
  const store: FileStore =
    options.persistence === 'memory'
      ? new InMemoryFileStore()
      : new LocalFileStore({ root: options.dir });
  const conversationId = randomUUID();
  await writeFerryConversation({
    store,
    conversationId,
    events: options.history,
    agent: loopAgent(),
  });
  const clock = new StepClock(() => store.stats.fsyncs);
  const noop = defineTool({
    name: NOOP_TOOL,
    description: NOOP_DESCRIPTION,
    parameters: z.object({ step: z.number().int() }),
    actionKind: 'NoopAction',
    observationKind: 'NoopObservation',
    readOnly: true,
    execute: () => {
      clock.tick();
      return Promise.resolve({ content: NOOP_RESULT });
    },
  });
  const conversation = await LocalConversation.open({
    store,
    conversationId,
    workspace: benchWorkspace,
    tools: [noop],
    onWarning: () => undefined,
    ...(options.languageModel === undefined ? {} : { languageModel: options.languageModel }),
  });
  let count = 0;
  for (const _event of conversation.events) count += 1;
  if (count < options.history.length) throw new Error('ferry loop: history not loaded');
  return { conversation, store, clock };
}

/** Runs the script of `steps` tool calls to the end and measures it. */
export async function runFerryLoop(
  fixture: FerryLoopFixture,
  steps: number,
  model: { use(cursor: ScriptCursor | undefined): void },
): Promise<LoopRun> {
  const cursor = new ScriptCursor(loopScript(steps));
  model.use(cursor);
  const fsyncsBefore = fixture.store.stats.fsyncs;
  const start = process.hrtime.bigint();
  const status = await fixture.conversation.run();
  const totalMs = elapsedMs(start);
  const fsyncs = fixture.store.stats.fsyncs - fsyncsBefore;
  model.use(undefined);
  await fixture.conversation.close();
  if (status !== 'finished' || !cursor.done || fixture.clock.ticks !== steps) {
    throw new Error(
      `ferry loop: ended ${status} after ${cursor.calls} model calls and ${fixture.clock.ticks} tool calls`,
    );
  }
  return {
    stepMs: fixture.clock.medianStepMs(),
    runPerCallMs: totalMs / cursor.calls,
    fsyncsPerStep: fixture.clock.medianCounterPerStep(),
    fsyncsPerCall: fsyncs / cursor.calls,
  };
}
