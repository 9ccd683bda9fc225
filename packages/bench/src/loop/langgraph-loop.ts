import { z } from 'zod';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool } from '@langchain/core/tools';
import { MemorySaver } from '@langchain/langgraph';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { elapsedMs } from '../harness/stats';
import type { LoopRun } from './ferry-loop';
import type { HistoryMessage } from './peer-history';
import { NOOP_DESCRIPTION, NOOP_RESULT, NOOP_TOOL, ScriptCursor, loopScript } from './script';
import { StepClock } from './step-clock';

/**
 * A chat model that answers from a script, the way LangGraph's own tests fake a tool-calling
 * model (`@langchain/core`'s `FakeListChatModel` answers text only, and its
 * `FakeStreamingChatModel` repeats one tool call forever).
 */
class ScriptedChatModel extends BaseChatModel {
  constructor(private readonly cursor: ScriptCursor) {
    super({});
  }

  _llmType(): string {
    return 'scripted';
  }

  override bindTools(): this {
    return this;
  }

  _generate(): Promise<ChatResult> {
    const turn = this.cursor.next();
    const message =
      turn.kind === 'tool-call'
        ? new AIMessage({
            content: '',
            tool_calls: [
              { id: turn.callId, name: NOOP_TOOL, args: turn.arguments, type: 'tool_call' },
            ],
          })
        : new AIMessage(turn.text);
    return Promise.resolve({ generations: [{ text: '', message }] });
  }
}

/** The history as LangChain messages. */
export function langChainMessages(history: readonly HistoryMessage[]): BaseMessage[] {
  return history.map((message) => {
    switch (message.role) {
      case 'user':
        return new HumanMessage(message.text);
      case 'assistant':
        return new AIMessage({
          content: message.text,
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            name: call.name,
            args: call.arguments,
            type: 'tool_call' as const,
          })),
        });
      case 'tool':
        return new ToolMessage({
          content: message.text,
          tool_call_id: message.toolCallId,
          name: message.toolName,
        });
    }
  });
}

/**
 * The same script through LangGraph's prebuilt ReAct agent (`createReactAgent`) with the no-op
 * tool; with `checkpoint`, state is saved after every step by LangGraph's in-memory
 * `MemorySaver`.
 */
export async function runLangGraphLoop(options: {
  system: string;
  history: readonly HistoryMessage[];
  steps: number;
  checkpoint: boolean;
}): Promise<LoopRun> {
  const clock = new StepClock();
  const noop = tool(
    () => {
      clock.tick();
      return NOOP_RESULT;
    },
    {
      name: NOOP_TOOL,
      description: NOOP_DESCRIPTION,
      schema: z.object({ step: z.number().int() }),
    },
  );
  const cursor = new ScriptCursor(loopScript(options.steps));
  const agent = createReactAgent({
    llm: new ScriptedChatModel(cursor),
    tools: [noop],
    prompt: options.system,
    ...(options.checkpoint ? { checkpointer: new MemorySaver() } : {}),
  });
  const messages = langChainMessages(options.history);
  const start = process.hrtime.bigint();
  await agent.invoke(
    { messages },
    {
      recursionLimit: 2 * options.steps + 10,
      ...(options.checkpoint ? { configurable: { thread_id: 'bench' } } : {}),
    },
  );
  const totalMs = elapsedMs(start);
  if (!cursor.done || clock.ticks !== options.steps) {
    throw new Error(`LangGraph loop: ${cursor.calls} model calls, ${clock.ticks} tool calls`);
  }
  return { stepMs: clock.medianStepMs(), runPerCallMs: totalMs / cursor.calls };
}
