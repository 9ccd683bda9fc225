import { z } from 'zod';
import { Agent, Runner, tool, type AgentInputItem } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing';
import { elapsedMs } from '../harness/stats';
import type { LoopRun } from './ferry-loop';
import type { HistoryMessage } from './peer-history';
import { NOOP_DESCRIPTION, NOOP_RESULT, NOOP_TOOL, loopScript } from './script';
import { StepClock } from './step-clock';

/** The history as `@openai/agents` input items. */
export function agentsInput(history: readonly HistoryMessage[]): AgentInputItem[] {
  return history.flatMap((message): AgentInputItem[] => {
    switch (message.role) {
      case 'user':
        return [{ role: 'user', content: message.text }];
      case 'assistant':
        return [
          ...(message.text === '' ? [] : [assistantMessage(message.text)]),
          ...message.toolCalls.map((call) =>
            functionCall(call.name, call.arguments, { callId: call.id }),
          ),
        ];
      case 'tool':
        return [
          {
            type: 'function_call_result',
            callId: message.toolCallId,
            name: message.toolName,
            status: 'completed',
            output: message.text,
          },
        ];
    }
  });
}

/**
 * The same script through `@openai/agents`: an `Agent` with the no-op tool and the library's own
 * `ScriptedModel` test helper (no network), run by a `Runner` with tracing off.
 */
export async function runOpenAIAgentsLoop(options: {
  system: string;
  history: readonly HistoryMessage[];
  steps: number;
}): Promise<LoopRun> {
  const clock = new StepClock();
  const noop = tool({
    name: NOOP_TOOL,
    description: NOOP_DESCRIPTION,
    parameters: z.object({ step: z.number().int() }),
    execute: () => {
      clock.tick();
      return NOOP_RESULT;
    },
  });
  const model = new ScriptedModel(
    loopScript(options.steps).map((turn) =>
      turn.kind === 'tool-call'
        ? [functionCall(NOOP_TOOL, turn.arguments, { callId: turn.callId })]
        : [assistantMessage(turn.text)],
    ),
  );
  const agent = new Agent({ name: 'bench', instructions: options.system, model, tools: [noop] });
  const runner = new Runner({ tracingDisabled: true });
  const input = agentsInput(options.history);
  const start = process.hrtime.bigint();
  await runner.run(agent, input, { maxTurns: options.steps + 5 });
  const totalMs = elapsedMs(start);
  model.assertComplete();
  if (clock.ticks !== options.steps) {
    throw new Error(`@openai/agents loop: ${clock.ticks} tool calls, expected ${options.steps}`);
  }
  return { stepMs: clock.medianStepMs(), runPerCallMs: totalMs / model.calls.length };
}
