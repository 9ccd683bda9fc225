import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLLMContext, providerIdentity } from '@ferry/sdk-core';
import { generateEvents } from '../fixtures/generate-events';
import { elapsedMs, rotate, summarize, type Summary } from '../harness/stats';
import { ferryStepBreakdown, type FerryStepBreakdown } from '../loop/ferry-breakdown';
import { prepareFerryLoop, runFerryLoop, type LoopRun } from '../loop/ferry-loop';
import { runLangGraphLoop } from '../loop/langgraph-loop';
import { runOpenAIAgentsLoop } from '../loop/openai-agents-loop';
import { neutralHistory, type HistoryMessage } from '../loop/peer-history';
import { inProcessLanguageModel } from '../loop/in-process-model';
import type { ScriptCursor } from '../loop/script';
import { installScriptedFetch } from '../loop/scripted-fetch';

/** The contenders of the loop benchmark. */
export const loopContenders = [
  'ferry-memory',
  'ferry-memory-provider',
  'ferry-disk',
  'openai-agents',
  'langgraph',
  'langgraph-memory-saver',
] as const;
export type LoopContender = (typeof loopContenders)[number];

/** One history length: how many steps each run makes and how many runs. */
export interface LoopSize {
  history: number;
  steps: number;
  repetitions: number;
}

export interface LoopContenderResult {
  /** Steady-state time per step (median gap between tool executions). */
  stepMs: Summary;
  /** Whole run divided by model calls. */
  runPerCallMs: Summary;
  /** Ferry only: fsyncs per steady-state step, and per model call over the whole run. */
  fsyncsPerStep?: Summary;
  fsyncsPerCall?: Summary;
}

export interface LoopResult {
  history: number;
  /** Messages in the request built from that history. */
  messages: number;
  steps: number;
  repetitions: number;
  contenders: Record<LoopContender, LoopContenderResult>;
  /** Peer step time over Ferry's in-memory step time, per repetition (above 1: Ferry is faster). */
  peerOverFerry: Record<'openai-agents' | 'langgraph' | 'langgraph-memory-saver', Summary>;
  breakdown: FerryStepBreakdown;
}

export interface LoopSuiteResult {
  sizes: LoopResult[];
  /** One `appendFile` + `fsync` of a 1 KiB line on the same disk, measured in the same run (ms). */
  fsyncLatencyMs: Summary;
}

async function measureFsyncLatency(dir: string, count: number): Promise<Summary> {
  await mkdir(dir, { recursive: true });
  const handle = await open(join(dir, 'fsync-probe.jsonl'), 'a');
  const line = Buffer.alloc(1024, 'x');
  const samples: number[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const start = process.hrtime.bigint();
      await handle.appendFile(line);
      await handle.sync();
      samples.push(elapsedMs(start));
    }
  } finally {
    await handle.close();
  }
  return summarize(samples);
}

/**
 * Runs the same script (N calls of a no-op tool, then a text reply) through Ferry (in memory and
 * on disk with fsync), `@openai/agents` and LangGraph's ReAct agent, each starting from the same
 * history, with a zero-latency in-process model. Each repetition runs every contender once, in
 * a rotating order; ratios are taken within a repetition.
 */
export async function runLoopSuite(options: {
  workDir: string;
  sizes: readonly LoopSize[];
  log: (message: string) => void;
}): Promise<LoopSuiteResult> {
  const model = installScriptedFetch();
  // The zero-latency model of the peers' kind, given to Ferry through its `languageModel` seam.
  let inProcessCursor: ScriptCursor | undefined;
  const inProcess = {
    model: inProcessLanguageModel(() => inProcessCursor),
    use(cursor: ScriptCursor | undefined) {
      inProcessCursor = cursor;
    },
  };
  try {
    const fsyncLatencyMs = await measureFsyncLatency(join(options.workDir, 'loop-fsync'), 200);
    const results: LoopResult[] = [];
    let fixtureNumber = 0;
    for (const size of options.sizes) {
      // Zero events of history still needs the user's task to act on.
      const events = generateEvents({ count: Math.max(1, size.history), seed: 11 });
      const probe = await prepareFerryLoop({ persistence: 'memory', dir: '', history: events });
      const agent = probe.conversation.agent;
      const context = buildLLMContext({
        events: probe.conversation.events,
        agent,
        provider: providerIdentity(agent.llm),
      });
      const history: HistoryMessage[] = neutralHistory(context.messages);
      const breakdown = await ferryStepBreakdown({
        events: probe.conversation.events,
        agent,
        repetitions: size.history >= 10_000 ? 3 : 9,
        model,
        inProcess: { languageModel: () => inProcess.model, use: (cursor) => inProcess.use(cursor) },
      });
      await probe.conversation.close();

      const run = async (contender: LoopContender, steps: number): Promise<LoopRun> => {
        switch (contender) {
          case 'ferry-memory':
          case 'ferry-disk': {
            fixtureNumber += 1;
            const fixture = await prepareFerryLoop({
              persistence: contender === 'ferry-memory' ? 'memory' : 'disk',
              dir: join(options.workDir, `loop-${fixtureNumber}`),
              history: events,
              languageModel: () => inProcess.model,
            });
            return runFerryLoop(fixture, steps, inProcess);
          }
          case 'ferry-memory-provider': {
            const fixture = await prepareFerryLoop({
              persistence: 'memory',
              dir: '',
              history: events,
            });
            return runFerryLoop(fixture, steps, model);
          }
          case 'openai-agents':
            return runOpenAIAgentsLoop({ system: context.system, history, steps });
          case 'langgraph':
          case 'langgraph-memory-saver':
            return runLangGraphLoop({
              system: context.system,
              history,
              steps,
              checkpoint: contender === 'langgraph-memory-saver',
            });
        }
      };

      // One short unmeasured run each, so no contender pays for the first compilation of its code.
      if (results.length === 0) for (const contender of loopContenders) await run(contender, 3);

      const runs = new Map<LoopContender, LoopRun[]>(loopContenders.map((name) => [name, []]));
      for (let repetition = 0; repetition < size.repetitions; repetition += 1) {
        for (const contender of rotate(loopContenders, repetition)) {
          runs.get(contender)?.push(await run(contender, size.steps));
        }
        options.log(
          `loop: ${size.history} events of history, repetition ${repetition + 1}/${size.repetitions}`,
        );
      }
      const of = (contender: LoopContender) => runs.get(contender) ?? [];
      const summarizeContender = (contender: LoopContender): LoopContenderResult => {
        const list = of(contender);
        const fsyncsPerStep = list.flatMap((item) =>
          item.fsyncsPerStep === undefined ? [] : [item.fsyncsPerStep],
        );
        const fsyncsPerCall = list.flatMap((item) =>
          item.fsyncsPerCall === undefined ? [] : [item.fsyncsPerCall],
        );
        return {
          stepMs: summarize(list.map((item) => item.stepMs)),
          runPerCallMs: summarize(list.map((item) => item.runPerCallMs)),
          ...(fsyncsPerStep.length > 0 ? { fsyncsPerStep: summarize(fsyncsPerStep) } : {}),
          ...(fsyncsPerCall.length > 0 ? { fsyncsPerCall: summarize(fsyncsPerCall) } : {}),
        };
      };
      const over = (peer: LoopContender) =>
        summarize(
          of(peer).map((item, index) => item.stepMs / (of('ferry-memory')[index]?.stepMs ?? NaN)),
        );
      results.push({
        history: size.history,
        messages: context.messages.length,
        steps: size.steps,
        repetitions: size.repetitions,
        contenders: Object.fromEntries(
          loopContenders.map((contender) => [contender, summarizeContender(contender)]),
        ) as Record<LoopContender, LoopContenderResult>,
        peerOverFerry: {
          'openai-agents': over('openai-agents'),
          langgraph: over('langgraph'),
          'langgraph-memory-saver': over('langgraph-memory-saver'),
        },
        breakdown,
      });
    }
    return { sizes: results, fsyncLatencyMs };
  } finally {
    model.restore();
  }
}
