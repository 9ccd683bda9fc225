import type { MachineDescription } from '../harness/machine';
import type { AppendResult } from '../suites/append';
import type { LoopContender, LoopSuiteResult } from '../suites/loop';
import type { ResumeSuiteResult } from '../suites/resume';
import { formatCount, formatNumber, formatRatio, formatSummary, table } from './format';

/** Everything one `pnpm bench` measured. */
export interface BenchResults {
  startedAt: Date;
  durationSeconds: number;
  quick: boolean;
  machine: MachineDescription;
  /** 1-minute load average when the run ended. */
  endLoadAverage: number;
  versions: Record<string, string>;
  resume?: ResumeSuiteResult;
  append?: AppendResult[];
  loop?: LoopSuiteResult;
}

type Verdict = 'met' | 'NOT met' | 'not measured';

interface Bar {
  bar: string;
  figure: string;
  verdict: Verdict;
}

const CONTENDER_NAMES: Record<LoopContender, string> = {
  'ferry-memory': 'Ferry, InMemoryFileStore',
  'ferry-disk': 'Ferry, LocalFileStore (fsync on)',
  'openai-agents': '`@openai/agents`',
  langgraph: 'LangGraph `createReactAgent`',
  'langgraph-memory-saver': 'LangGraph `createReactAgent` + `MemorySaver`',
};

const MiB = 1024 * 1024;

function bars(results: BenchResults): Bar[] {
  const list: Bar[] = [];
  const resume10k = results.resume?.sizes.find((size) => size.count === 10_000);
  if (resume10k === undefined) {
    list.push(
      { bar: 'Resume 10k events: at most 1.5x the limit', figure: '', verdict: 'not measured' },
      {
        bar: 'Resume 10k events: at least 2x faster than one file per event (sync reads)',
        figure: '',
        verdict: 'not measured',
      },
    );
  } else {
    list.push(
      {
        bar: 'Resume 10k events (open + load + verify + build the next request): at most 1.5x reading the bytes and `JSON.parse` per line',
        figure: `${formatRatio(resume10k.ferryOverLimit)} the limit`,
        verdict: resume10k.ferryOverLimit.median <= 1.5 ? 'met' : 'NOT met',
      },
      {
        bar: 'Resume 10k events: at least 2x faster than one file per event read with sync reads',
        figure: `${formatRatio(resume10k.filesSyncOverFerry)} faster`,
        verdict: resume10k.filesSyncOverFerry.median >= 2 ? 'met' : 'NOT met',
      },
    );
  }
  const loop1k = results.loop?.sizes.find((size) => size.history === 1000);
  if (loop1k === undefined) {
    list.push({
      bar: 'Loop overhead at 1,000 events, in memory: under 1 ms per step',
      figure: '',
      verdict: 'not measured',
    });
  } else {
    const memory = loop1k.contenders['ferry-memory'].stepMs;
    list.push(
      {
        bar: 'Loop overhead per step at 1,000 events, in memory: under 1 ms',
        figure: formatSummary(memory, ' ms'),
        verdict: memory.median < 1 ? 'met' : 'NOT met',
      },
      {
        bar: 'Loop overhead per step at 1,000 events, in memory: lower than `@openai/agents` and LangGraph',
        figure:
          `\`@openai/agents\` ${formatRatio(loop1k.peerOverFerry['openai-agents'])}, ` +
          `LangGraph ${formatRatio(loop1k.peerOverFerry.langgraph)} of Ferry's time`,
        verdict:
          loop1k.peerOverFerry['openai-agents'].median > 1 &&
          loop1k.peerOverFerry.langgraph.median > 1
            ? 'met'
            : 'NOT met',
      },
    );
  }
  const fsyncs = results.loop?.sizes.flatMap((size) => {
    const figure = size.contenders['ferry-disk'].fsyncsPerStep;
    return figure === undefined ? [] : [figure.max];
  });
  if (fsyncs === undefined || fsyncs.length === 0) {
    list.push({
      bar: 'With durable persistence: at most 3 fsyncs per step',
      figure: '',
      verdict: 'not measured',
    });
  } else {
    const worst = Math.max(...fsyncs);
    list.push({
      bar: 'With durable persistence: at most 3 fsyncs per step',
      figure: `${formatNumber(worst)} (most in any run)`,
      verdict: worst <= 3 ? 'met' : 'NOT met',
    });
  }
  list.push(
    {
      bar: 'Teleport 10k events over loopback: at most 2x a raw upload of the bundle',
      figure: 'no teleport benchmark in this package yet',
      verdict: 'not measured',
    },
    {
      bar: 'Server: 100 concurrent conversations, every event delivered, none lost',
      figure: 'not in this package yet',
      verdict: 'not measured',
    },
  );
  return list;
}

function machineSection(results: BenchResults): string {
  const { machine } = results;
  const shared = Math.max(machine.loadAverage, results.endLoadAverage) > 1;
  return [
    table(
      ['What', 'Value'],
      [
        ['Date', `${results.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`],
        ['CPU', `${machine.cpu}, ${machine.cores} cores`],
        [
          'Memory',
          `${machine.memoryGiB.toFixed(1)} GiB (${machine.freeMemoryGiB.toFixed(1)} GiB free at the start)`,
        ],
        ['OS', machine.os],
        ['Node', machine.node],
        [
          'Load average (1 min) at start / end',
          `${machine.loadAverage.toFixed(2)} / ${results.endLoadAverage.toFixed(2)}`,
        ],
        [
          'Packages',
          Object.entries(results.versions)
            .map(([name, version]) => `${name} ${version}`)
            .join(', '),
        ],
        [
          'Run',
          `${results.quick ? 'quick (smoke) run' : 'full run'}, ${Math.round(results.durationSeconds)} s`,
        ],
      ],
    ),
    '',
    shared
      ? '**The machine was shared with other work during this run** (load average above 1 on ' +
        `${machine.cores} cores): absolute times are inflated and noisy. Ratios are taken within ` +
        'one repetition, so they suffer less, but re-run on a quiet machine before quoting numbers.'
      : 'The machine was quiet during this run (load average at most 1).',
  ].join('\n');
}

function resumeSection(resume: ResumeSuiteResult): string {
  const rows = resume.sizes.map((size) => [
    formatCount(size.count),
    `${(size.bytes / MiB).toFixed(1)} MiB`,
    String(size.repetitions),
    formatSummary(size.ferryOpen, ' ms'),
    formatSummary(size.ferry, ' ms'),
    formatSummary(size.limit, ' ms'),
    formatSummary(size.filesSync, ' ms'),
    formatSummary(size.filesAsync, ' ms'),
  ]);
  const ratios = resume.sizes.map((size) => [
    formatCount(size.count),
    formatRatio(size.ferryOverLimit),
    formatRatio(size.ferryOpenOverLimit),
    formatRatio(size.filesSyncOverFerry),
    formatRatio(size.filesAsyncOverFerry),
    formatRatio(size.filesSyncOverLimit),
  ]);
  const memory = resume.sizes.map((size) => [
    formatCount(size.count),
    formatSummary(size.peakRss.ferry, ' MiB'),
    formatSummary(size.peakRss.limit, ' MiB'),
    formatSummary(size.peakRss['files-sync'], ' MiB'),
    formatSummary(size.peakRss['files-async'], ' MiB'),
  ]);
  return [
    '## 1. Cold resume',
    '',
    'Each measurement is a fresh Node process (modules loaded before the clock starts; the page ' +
      'cache is warm, since every contender reads files written moments before). **Ferry** is ' +
      '`LocalConversation.open` with a runtime agent (lock, state, `verifyAgent`, every line of the ' +
      'log read and checked), then `buildLLMContext` for the next request (every event parsed into ' +
      'its typed document). **(a) limit**: `readFile` of the same segment bytes and `JSON.parse` of ' +
      "each line. **(b)** OpenHands' layout, one file per event (`events/event-NNNNN-<id>.json`), " +
      '`readdirSync` + `readFileSync` + `JSON.parse`. **(c)** the same files read one at a time ' +
      'with `fs.promises`. Each repetition runs all four in a rotating order.',
    '',
    table(
      [
        'Events',
        'Log size',
        'Runs',
        'Ferry open',
        'Ferry open + next request',
        '(a) limit',
        '(b) file per event, sync',
        '(c) file per event, async',
      ],
      rows,
    ),
    '',
    'Ratios, each taken within one repetition:',
    '',
    table(
      ['Events', 'Ferry / (a)', 'Ferry open only / (a)', '(b) / Ferry', '(c) / Ferry', '(b) / (a)'],
      ratios,
    ),
    '',
    `Peak memory (max RSS of the process). A Node process that only loaded \`@ferry/sdk-core\` peaks at ` +
      `${formatNumber(resume.idleFerryRssMiB)} MiB; a bare one at ${formatNumber(resume.idleNodeRssMiB)} MiB.`,
    '',
    table(['Events', 'Ferry', '(a) limit', '(b) sync', '(c) async'], memory),
  ].join('\n');
}

function scalingSection(resume: ResumeSuiteResult): string {
  const rows = resume.sizes.map((size) => [
    formatCount(size.count),
    formatNumber((size.ferry.median / size.count) * 1000) + ' ms',
    formatNumber((size.limit.median / size.count) * 1000) + ' ms',
    formatNumber(((size.peakRss.ferry.median - resume.idleFerryRssMiB) / size.count) * 1000) +
      ' MiB',
    formatNumber(((size.peakRss.limit.median - resume.idleNodeRssMiB) / size.count) * 1000) +
      ' MiB',
  ]);
  const first = resume.sizes[0];
  const last = resume.sizes.at(-1);
  let reading = '';
  if (first !== undefined && last !== undefined && last.count > first.count) {
    const growth = Math.log(last.count / first.count);
    const timeExponent = Math.log(last.ferry.median / first.ferry.median) / growth;
    const memoryExponent =
      Math.log(
        (last.peakRss.ferry.median - resume.idleFerryRssMiB) /
          Math.max(1, first.peakRss.ferry.median - resume.idleFerryRssMiB),
      ) / growth;
    const word = (exponent: number) => (exponent <= 1.1 ? 'linear or better' : 'worse than linear');
    reading =
      `From ${formatCount(first.count)} to ${formatCount(last.count)} events, Ferry's resume time grows ` +
      `as n^${timeExponent.toFixed(2)} (${word(timeExponent)}) and its memory above the idle process ` +
      `as n^${memoryExponent.toFixed(2)} (${word(memoryExponent)}). Small sizes carry fixed costs ` +
      '(lock, state write with fsync), so per-event figures fall as the log grows.';
  }
  return [
    '## 6. Scaling',
    '',
    'Per 1,000 events, from the resume runs above (medians):',
    '',
    table(
      ['Events', 'Ferry time', '(a) limit time', 'Ferry memory over idle', '(a) memory over idle'],
      rows,
    ),
    '',
    reading,
  ].join('\n');
}

function appendSection(appends: readonly AppendResult[]): string {
  const rows = appends.flatMap((result) => {
    const label = result.fsync ? 'on' : 'off';
    return [
      [
        label,
        'Ferry `EventLog.append`',
        formatSummary(result.ferry.perSecond),
        formatSummary(result.ferry.p50Ms, ' ms'),
        formatSummary(result.ferry.p99Ms, ' ms'),
        formatRatio(result.ferryOverBare),
        formatNumber(result.fsyncsPerAppend),
      ],
      [
        label,
        'bare `appendFile`' + (result.fsync ? ' + `fsync`' : ''),
        formatSummary(result.bare.perSecond),
        formatSummary(result.bare.p50Ms, ' ms'),
        formatSummary(result.bare.p99Ms, ' ms'),
        '1x',
        result.fsync ? '1' : '0',
      ],
    ];
  });
  const first = appends[0];
  return [
    '## 2. Append',
    '',
    `One event per append, each awaited before the next (as the run loop appends), realistic ` +
      `events of ${first === undefined ? '?' : formatNumber(first.meanBytes)} bytes on average. ` +
      'Ferry: `EventLog.append` on a `LocalFileStore` (serialise, check the envelope, open the ' +
      'segment with `O_APPEND`, write, fsync, close). Bare: one open file handle, `appendFile` of ' +
      'the same bytes, then `fsync`. Repetitions alternate which goes first.',
    '',
    table(
      [
        'fsync',
        'Contender',
        'Appends/s',
        'p50 latency',
        'p99 latency',
        'Ferry / bare (appends/s)',
        'fsyncs per append',
      ],
      rows,
    ),
    '',
    appends
      .map(
        (result) =>
          `fsync ${result.fsync ? 'on' : 'off'}: ${formatCount(result.appends)} appends per run, ` +
          `${result.repetitions} runs.`,
      )
      .join(' '),
  ].join('\n');
}

function loopSection(loop: LoopSuiteResult): string {
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
    formatNumber(size.breakdown.streamTextMs) + ' ms',
    formatNumber(size.breakdown.callLLMMs) + ' ms',
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
    "Models: Ferry creates its model from the agent's LLM document and has no way to take an " +
      'in-process `LanguageModel`, so its model is an OpenAI-compatible endpoint answered inside ' +
      "the process (`fetch` for that origin is served from the script; no socket): Ferry's real " +
      'provider code builds the request and parses the streamed reply. `@openai/agents` runs its ' +
      'own `ScriptedModel` test helper (`@openai/agents/testing`); LangGraph a scripted ' +
      "`BaseChatModel` of the kind its own tests use. The peers' fake models skip request " +
      "serialisation entirely, which favours them; the breakdown below shows how much of Ferry's " +
      `step that is. Runs: ${runs}.`,
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
        '`buildLLMContext`',
        'AI SDK `streamText` with `MockLanguageModelV3`',
        '`callLLM` through the provider (in process)',
      ],
      breakdown,
    ),
  ].join('\n');
}

function readingSection(results: BenchResults, list: readonly Bar[]): string {
  const lines: string[] = ['## Reading', ''];
  const missed = list.filter((bar) => bar.verdict === 'NOT met');
  lines.push(
    missed.length === 0
      ? 'Every measured bar is met.'
      : `Bars not met: ${missed.map((bar) => bar.bar).join('; ')}.`,
  );
  const resume10k = results.resume?.sizes.find((size) => size.count === 10_000);
  if (resume10k !== undefined) {
    lines.push(
      '',
      `Resume: opening a 10,000-event conversation (lock, state, verification, every line read ` +
        `and checked) takes ${formatNumber(resume10k.ferryOpen.median)} ms, ` +
        `${formatRatio(resume10k.ferryOpenOverLimit)} the limit; building the first request then ` +
        `brings it to ${formatNumber(resume10k.ferry.median)} ms ` +
        `(${formatRatio(resume10k.ferryOverLimit)}): the event list parses each event into its typed ` +
        'document on first access (a fast path for the common kinds, zod for the rest). Opening ' +
        'also takes the lock and rewrites the ' +
        'state document with fsync, a fixed cost that weighs most on small conversations.',
      '',
      `Reading one file per event with sync reads costs only ${formatRatio(resume10k.filesSyncOverLimit)} ` +
        'the limit on this machine (warm page cache), so being 2x faster than (b) would mean ' +
        `finishing in ${formatNumber(resume10k.filesSyncOverLimit.median / 2)}x the time of merely ` +
        'reading and parsing the bytes: out of reach for any loader that parses every event, and at ' +
        'odds with the 1.5x-the-limit bar. Against the same layout read with `fs.promises` Ferry is ' +
        `${formatRatio(resume10k.filesAsyncOverFerry)} faster.`,
    );
  }
  const appendOn = results.append?.find((result) => result.fsync);
  const appendOff = results.append?.find((result) => !result.fsync);
  if (appendOn !== undefined && appendOff !== undefined) {
    lines.push(
      '',
      `Append: with fsync on, Ferry makes ${formatRatio(appendOn.ferryOverBare)} the appends per ` +
        `second of a bare \`appendFile\` + \`fsync\` loop; with fsync off ` +
        `${formatRatio(appendOff.ferryOverBare)}. Without fsync the difference is Ferry's own ` +
        'work per append: it serialises, re-parses and checks the event, and opens and closes the ' +
        'segment file each time.',
    );
  }
  const loop1k = results.loop?.sizes.find((size) => size.history === 1000);
  if (loop1k !== undefined) {
    const step = loop1k.contenders['ferry-memory'].stepMs.median;
    const { contextMs, streamTextMs, callLLMMs } = loop1k.breakdown;
    lines.push(
      '',
      `Loop: at 1,000 events a Ferry step takes ${formatNumber(step)} ms in memory. Of that, ` +
        `rebuilding the request from the events takes ${formatNumber(contextMs)} ms; the AI SDK's ` +
        `\`streamText\` alone, with a mock model, ${formatNumber(streamTextMs)} ms (it validates the ` +
        `whole prompt against its zod schemas on every call); the full \`callLLM\` through the ` +
        `OpenAI-compatible provider ${formatNumber(callLLMMs)} ms (it also creates the provider and ` +
        'its response schemas per call and serialises the whole history into the request body). ' +
        `Against the peers: \`@openai/agents\` takes ${formatRatio(loop1k.peerOverFerry['openai-agents'])} ` +
        `Ferry's step time and LangGraph without a checkpointer ${formatRatio(loop1k.peerOverFerry.langgraph)}; ` +
        'its state is a list in memory that its fake model never reads, so its step hardly grows with ' +
        'the history. ' +
        (streamTextMs >= 1
          ? 'The LLM call is most of the step and grows with the history: even an in-process model ' +
            "seam would leave the AI SDK's per-call prompt validation above the 1 ms bar."
          : 'With an in-process model seam (no provider serialisation) the step would come close ' +
            `to ${formatNumber(contextMs + streamTextMs)} ms plus the appends.`),
    );
  }
  return lines.join('\n');
}

/** The Markdown of BENCHMARKS.md. */
export function writeReport(results: BenchResults): string {
  const list = bars(results);
  const sections = [
    '# Ferry benchmarks',
    '',
    `Produced by \`pnpm bench\` (package \`packages/bench\`). Every figure is the median of repeated ` +
      'runs with the minimum and maximum in brackets; every comparison is a ratio measured in the ' +
      'same run (within one repetition), then summarised the same way.',
    '',
    '## Machine',
    '',
    machineSection(results),
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npx -y pnpm@10.34.8 install --frozen-lockfile',
    'npx -y pnpm@10.34.8 bench              # full run, writes BENCHMARKS.md (about 10 minutes on 2 cores)',
    'npx -y pnpm@10.34.8 bench -- --quick   # one-minute smoke run, prints the report, writes nothing',
    '```',
    '',
    'Fixtures are generated from a fixed seed into a temporary folder and removed afterwards. ' +
      'See `packages/bench/README.md` for what each benchmark does.',
    '',
    '## Bars (DESIGN.md section 12)',
    '',
    table(
      ['Bar', 'Measured', 'Verdict'],
      list.map((bar) => [
        bar.bar,
        bar.figure,
        bar.verdict === 'NOT met' ? '**NOT met**' : bar.verdict,
      ]),
    ),
    '',
    readingSection(results, list),
  ];
  if (results.resume !== undefined) sections.push('', resumeSection(results.resume));
  if (results.append !== undefined) sections.push('', appendSection(results.append));
  if (results.loop !== undefined) sections.push('', loopSection(results.loop));
  sections.push(
    '',
    '## 4. Teleport and 5. Server',
    '',
    'Not measured in this run: teleport (`@ferry/workspace-remote`) is not built yet, and the ' +
      'server benchmark (100 concurrent conversations with a WebSocket subscriber each) is not in ' +
      'this package yet.',
  );
  if (results.resume !== undefined) sections.push('', scalingSection(results.resume));
  return `${sections.join('\n')}\n`;
}
