import type { BenchResults } from './bench-results';
import {
  formatBytes,
  formatCount,
  formatNumber,
  formatPercent,
  formatRatio,
  formatSummary,
} from './format';

export type Verdict = 'met' | 'NOT met' | 'not measured';

export interface Bar {
  bar: string;
  figure: string;
  verdict: Verdict;
}

/** The bars of DESIGN.md section 12, each with the figure measured and its verdict. */
export function bars(results: BenchResults): Bar[] {
  const list: Bar[] = [];
  const resume10k = results.resume?.sizes.find((size) => size.count === 10_000);
  if (resume10k === undefined) {
    list.push(
      {
        bar: 'Resume 10k events, ready to request: at most 1.3x the limit',
        figure: '',
        verdict: 'not measured',
      },
      {
        bar: "Resume 10k events: at least 4x faster than OpenHands' layout read with `fs.promises`",
        figure: '',
        verdict: 'not measured',
      },
    );
  } else {
    list.push(
      {
        bar: 'Resume 10k events, ready to request (open, load, verify, first request built): at most 1.3x reading the bytes and `JSON.parse` per line',
        figure:
          `${formatRatio(resume10k.ferryOverLimit)} the limit ` +
          `(${formatRatio(resume10k.ferryOpenOverLimit)} open only)`,
        verdict: resume10k.ferryOverLimit.median <= 1.3 ? 'met' : 'NOT met',
      },
      {
        bar: "Resume 10k events: at least 4x faster than OpenHands' layout (one file per event) read with `fs.promises`",
        figure: `${formatRatio(resume10k.filesAsyncOverFerry)} faster, ready to request`,
        verdict: resume10k.filesAsyncOverFerry.median >= 4 ? 'met' : 'NOT met',
      },
    );
  }
  const live = results.resume?.liveContext;
  if (live === undefined) {
    list.push({
      bar: 'Resume follows the live context: 100k events, ~1k since the last condensation, at most 3x the time and 2x the memory of 1k events',
      figure: '',
      verdict: 'not measured',
    });
  } else {
    list.push({
      bar:
        `Resume follows the live context: ${formatCount(live.count)} events condensed every ` +
        `${formatCount(live.every)}, ready to request, at most 3x the time and 2x the memory of ` +
        `${formatCount(live.small)} events`,
      figure:
        `time ${formatRatio(live.timeRatio)}, memory ${formatRatio(live.memoryRatio)} ` +
        `(${formatSummary(live.long, ' ms')} against ${formatSummary(live.short, ' ms')})`,
      verdict:
        live.timeRatio.median <= 3 &&
        live.memoryRatio.median <= 2 &&
        live.sources.every((source) => source === 'snapshot')
          ? 'met'
          : 'NOT met',
    });
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
  const teleport10k = results.teleport?.sizes.find((size) => size.count === 10_000);
  const firstBar =
    'Teleport 10k events over loopback: at most 1.5x the floor (tar + gzip -1, upload, extract)';
  const backBar = 'Teleport back after 50 new events: at most 10% of the first teleport';
  if (teleport10k === undefined) {
    list.push({ bar: firstBar, figure: '', verdict: 'not measured' });
    list.push({ bar: backBar, figure: '', verdict: 'not measured' });
  } else {
    list.push({
      bar: firstBar,
      figure:
        `${formatRatio(teleport10k.teleportOverFloor)} the floor ` +
        `(${formatSummary(teleport10k.teleport, ' ms')} against ${formatSummary(teleport10k.floor, ' ms')})`,
      verdict: teleport10k.teleportOverFloor.median <= 1.5 ? 'met' : 'NOT met',
    });
    list.push({
      bar: backBar,
      figure:
        `${formatPercent(teleport10k.backOverTeleport)} of the first teleport ` +
        `(${formatSummary(teleport10k.back, ' ms')}; ${formatBytes(teleport10k.backBytes)} received, ` +
        `against a ${formatBytes(teleport10k.bundleBytes)} whole bundle; moved before the open: ` +
        `${formatPercent(teleport10k.movedOverTeleport)}; with the first request built after it, ` +
        `which reads the live context: ${formatPercent(teleport10k.backReadyOverTeleport)})`,
      verdict: teleport10k.backOverTeleport.median <= 0.1 ? 'met' : 'NOT met',
    });
  }
  const server = results.server?.sizes.at(-1);
  const serverBar = 'Server: 100 concurrent conversations, every event delivered, none lost';
  if (server === undefined) {
    list.push({ bar: serverBar, figure: '', verdict: 'not measured' });
  } else {
    const faults = server.lost + server.duplicated + server.outOfOrder + server.dropped;
    const figure =
      `${server.conversations} conversations x ${server.steps} steps, ${server.repetitions} ` +
      `${server.repetitions === 1 ? 'run' : 'runs'}: ` +
      `${formatCount(server.lost)} of ${formatCount(server.logged)} events lost, ` +
      `${formatCount(server.duplicated)} doubled, ${formatCount(server.outOfOrder)} out of order, ` +
      `${formatCount(server.dropped)} subscribers dropped`;
    list.push({
      bar: serverBar,
      figure: server.conversations >= 100 ? figure : `${figure} (fewer conversations than the bar)`,
      verdict: server.conversations < 100 ? 'not measured' : faults === 0 ? 'met' : 'NOT met',
    });
  }
  return list;
}
