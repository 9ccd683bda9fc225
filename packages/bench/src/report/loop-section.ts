import type { LoopContender, LoopSuiteResult } from '../suites/loop';
import { formatCount, formatNumber, formatRatio, formatSummary, table } from './format';

const CONTENDER_NAMES: Record<LoopContender, string> = {
  'ferry-memory': 'Ferry, InMemoryFileStore',
  'ferry-memory-provider': 'Ferry, InMemoryFileStore, through the OpenAI-compatible provider',
  'ferry-disk': 'Ferry, LocalFileStore (fsync on)',
  'openai-agents': '`@openai/agents`',
  langgraph: 'LangGraph `createReactAgent`',
  'langgraph-memory-saver': 'LangGraph `createReactAgent` + `MemorySaver`',
};

/** Section 3: loop overhead per agent step, against the peers, and where a step goes. */
export function loopSection(loop: LoopSuiteResult): string {
  const rows = loop.sizes.flatMap((size) =>
    (Object.keys(CONTENDER_NAMES) as LoopContender[]).map((contender) => {
      const figures = size.contenders[contender];
      return [
        formatCount(size.history),
        CONTENDER_NAMES[contender],
        formatSummary(figures.stepMs, ' ms'),
        formatSummary(figures.runPerCallMs, ' ms'),
        figures.fsyncsPerStep === undefined ? '' : formatSummary(figures.fsyncsPerStep),
        figures.fsyncsPerCall === undefined ? '' : formatSummary(figures.fsyncsPerCall),
      ];
    }),
  );
  const ratios = loop.sizes.map((size) => [
    formatCount(size.history),
    formatRatio(size.peerOverFerry['openai-agents']),
    formatRatio(size.peerOverFerry.langgraph),
    formatRatio(size.peerOverFerry['langgraph-memory-saver']),
  ]);
  const breakdown = loop.sizes.map((size) => [
    formatCount(size.history),
    String(size.messages),
    formatNumber(size.contenders['ferry-memory'].stepMs.median) + ' ms',
    formatNumber(size.breakdown.contextMs) + ' ms',
    formatNumber(size.breakdown.incrementalContextMs) + ' ms',
    formatNumber(size.breakdown.callInProcessMs) + ' ms',
    formatNumber(size.breakdown.callLLMMs) + ' ms',
    formatNumber(size.breakdown.streamTextMs) + ' ms',
  ]);
  const runs = loop.sizes
    .map(
      (size) =>
        `${formatCount(size.history)} events: ${size.steps} tool steps per run, ${size.repetitions} runs`,
    )
    .join('; ');
  return [
    '## 3. Loop overhead per agent step',
    '',
    'The same script in every framework: N calls of a no-op tool (each with its own arguments), ' +
      "then a text reply that ends the run, from the same history (Ferry's generated events, " +
      'given to the peers as the very messages Ferry sends its model). A **step** is the median ' +
      'time between two consecutive no-op tool executions: the tool result recorded, the model ' +
      'called and read, the next call dispatched. "Run / model call" divides the whole run, ' +
      'start-up and shut-down included, by the model calls.',
    '',
    'Models: every framework gets a zero-latency scripted model inside the process. Ferry takes ' +
      "it through its `languageModel` seam (an AI SDK `LanguageModelV3` answering each call's " +
      'stream parts from the script); `@openai/agents` runs its own `ScriptedModel` test helper ' +
      '(`@openai/agents/testing`); LangGraph a scripted `BaseChatModel` of the kind its own tests ' +
      "use. None of them serialises a request. The extra Ferry row runs Ferry's real " +
      'OpenAI-compatible provider against an endpoint answered inside the process (`fetch` for ' +
      'that origin is served from the script; no socket), which adds building the JSON request ' +
      `and parsing the streamed reply. Runs: ${runs}.`,
    '',
    table(
      [
        'History',
        'Framework',
        'Step',
        'Run / model call',
        'fsyncs per step',
        'fsyncs per model call (whole run)',
      ],
      rows,
    ),
    '',
    "Peer step time over Ferry's in-memory step time, per repetition (above 1x: Ferry is faster):",
    '',
    table(['History', '`@openai/agents`', 'LangGraph', 'LangGraph + MemorySaver'], ratios),
    '',
    `Measured fsync latency on the same disk in the same run (\`appendFile\` of 1 KiB + \`fsync\`, ` +
      `200 times): ${formatSummary(loop.fsyncLatencyMs, ' ms')}. A durable Ferry step makes two ` +
      'appends (the actions with the stats update, then the observations), each with one fsync.',
    '',
    'Where a Ferry step goes (medians, each part measured on its own, same history):',
    '',
    table(
      [
        'History',
        'Messages sent',
        'Ferry step (in memory)',
        '`buildLLMContext` (whole history)',
        '`LLMContextBuilder` (a step)',
        '`callLLM`, in-process model',
        '`callLLM` through the provider (in process)',
        'AI SDK `streamText` with `MockLanguageModelV3` (not used)',
      ],
      breakdown,
    ),
  ].join('\n');
}
