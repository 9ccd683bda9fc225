import type { Bar } from './bars';
import type { BenchResults } from './bench-results';
import { formatBytes, formatCount, formatNumber, formatPercent, formatRatio, MiB } from './format';

/** The "Reading" section: what the bar figures mean, suite by suite. */
export function readingSection(results: BenchResults, list: readonly Bar[]): string {
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
      `Resume: opening a 10,000-event conversation (lock, state, verification, the log index and ` +
        `the context snapshot, which says the live context is the whole log: none of it is read ` +
        `yet) takes ${formatNumber(resume10k.ferryOpen.median)} ms, ` +
        `${formatRatio(resume10k.ferryOpenOverLimit)} the limit; building the first request then ` +
        `brings it to ${formatNumber(resume10k.ferry.median)} ms ` +
        `(${formatRatio(resume10k.ferryOverLimit)}): every line is read and checked, the event ` +
        `list checks each event against its ` +
        'typed schema on first access (a hand-written checker for the common kinds, zod for the ' +
        'rest; an event already in its typed form, as Ferry writes them, is used as read, not ' +
        'copied), and the history is converted into the provider messages. Opening ' +
        'also takes the lock and rewrites the ' +
        'state document with fsync, a fixed cost that weighs most on small conversations. The bars ' +
        'judge the resume as DESIGN.md defines it, ready to build the next request (open, load, ' +
        'verify); the figures with the first request built are given beside them.',
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
    const provider = loop1k.contenders['ferry-memory-provider'].stepMs.median;
    const { contextMs, incrementalContextMs, callInProcessMs, callLLMMs, streamTextMs } =
      loop1k.breakdown;
    lines.push(
      '',
      `Loop: at 1,000 events a Ferry step takes ${formatNumber(step)} ms in memory with the ` +
        `in-process model. A conversation keeps the request of its settled history, so a step ` +
        `builds its request in ${formatNumber(incrementalContextMs)} ms instead of the ` +
        `${formatNumber(contextMs)} ms of converting every event (\`buildLLMContext\`, paid once ` +
        `after a resume), and \`callLLM\` with the in-process model takes ` +
        `${formatNumber(callInProcessMs)} ms. Through the real OpenAI-compatible provider a step ` +
        `takes ${formatNumber(provider)} ms (\`callLLM\` alone ${formatNumber(callLLMMs)} ms): ` +
        'serialising the whole history into a JSON request body on every call, which any real ' +
        "provider needs. Ferry calls the provider model directly; the AI SDK's `streamText` " +
        `would add ${formatNumber(streamTextMs)} ms per call here, validating the whole prompt ` +
        `against its zod schemas. Against the peers: \`@openai/agents\` takes ` +
        `${formatRatio(loop1k.peerOverFerry['openai-agents'])} Ferry's step time and LangGraph ` +
        `without a checkpointer ${formatRatio(loop1k.peerOverFerry.langgraph)}; its state is a ` +
        'list in memory that its fake model never reads, so its step hardly grows with the history.',
    );
  }
  const teleport10k = results.teleport?.sizes.find((size) => size.count === 10_000);
  if (teleport10k !== undefined) {
    const met = teleport10k.teleportOverFloor.median <= 1.5;
    const backMet = teleport10k.backOverTeleport.median <= 0.1;
    lines.push(
      '',
      `Teleport: moving 10,000 events (${(teleport10k.logBytes / MiB).toFixed(1)} MiB of log, a ` +
        `${(teleport10k.bundleBytes / MiB).toFixed(2)} MiB bundle) to a server takes ` +
        `${formatNumber(teleport10k.teleport.median)} ms, ${formatRatio(teleport10k.teleportOverFloor)} ` +
        `the floor (tar + gzip -1 of the folder, uploaded and extracted: ` +
        `${formatNumber(teleport10k.floor.median)} ms): the bar (1.5x) is ${met ? 'met' : 'not met'}. ` +
        `The export alone takes ${formatNumber(teleport10k.export.median)} ms and the upload + ` +
        `import alone ${formatNumber(teleport10k.import.median)} ms (the server imports the ` +
        'bundle as it arrives: it decompresses it and checks every checksum and every event line ' +
        'while the rest is on its way, writes and syncs the files, then opens the conversation to ' +
        'record its arrival, adopting the index the import built instead of reading the log ' +
        'again; the events themselves are read when first needed); in a teleport the two ' +
        'overlap, the export streaming each segment from its file. The floor checks nothing ' +
        'and opens nothing. ' +
        `Coming back after 50 new events takes ${formatNumber(teleport10k.back.median)} ms, ` +
        `${formatPercent(teleport10k.backOverTeleport)} of the first teleport: the bar (10%) is ` +
        `${backMet ? 'met' : 'not met'}. Only ${formatBytes(teleport10k.backBytes)} travel (the ` +
        `whole bundle is ${formatBytes(teleport10k.bundleBytes)}); going out again after 50 more ` +
        `takes ${formatNumber(teleport10k.again.median)} ms and sends ` +
        `${formatBytes(teleport10k.againFileBytes)} of files (the first teleport ` +
        `${formatBytes(teleport10k.firstFileBytes)}).` +
        ' The move itself (describing the copy here, the server proving the same prefix of its ' +
        'copy and answering the delta, parking its copy, checking and appending the delta here) ' +
        `takes ${formatNumber(teleport10k.moved.median)} ms, ` +
        `${formatPercent(teleport10k.movedOverTeleport)} of the first teleport: no side reads its ` +
        'log to prove the prefix, each takes the SHA-256 it remembers of the segment (from when ' +
        "it exported, imported or appended to it; trusted only while the file's device, inode, " +
        'size and times to the nanosecond are unchanged). The open at the end reads no event: ' +
        'this conversation never condensed, so its context snapshot says the live context is ' +
        'the whole log, and a resume reads that when first needed. Building the first request ' +
        `after the way back does, in ${formatNumber(teleport10k.ready.median)} ms (the whole ` +
        '10,000-event log read, checked and converted); home and ready to request is ' +
        `${formatPercent(teleport10k.backReadyOverTeleport)} of the first teleport, ` +
        `${readyWithin(backMet, teleport10k.backReadyOverTeleport.median <= 0.1)}. ` +
        `The same resume before the conversation left took ${formatNumber(teleport10k.open.median)} ` +
        `ms (${formatPercent(teleport10k.openOverTeleport)} of the first teleport); a ` +
        'conversation that condenses reads about what its context holds, see section 1.',
    );
  }
  const server = results.server?.sizes.at(-1);
  if (server !== undefined) {
    const shared =
      Math.max(results.machine.loadAverage, results.endLoadAverage) > results.machine.cores;
    const faults = server.lost + server.duplicated + server.outOfOrder + server.dropped;
    lines.push(
      '',
      `Server: ${formatCount(server.conversations)} conversations of ${server.steps} steps at once ` +
        `append ${formatNumber(server.eventsPerSecond.median)} events/s. ` +
        (faults === 0
          ? `Every subscriber received every event of its log once and in order ` +
            `(${formatCount(server.logged)} events over ${server.repetitions} ` +
            `${server.repetitions === 1 ? 'run' : 'runs'}, none lost).`
          : `Subscribers missed ${formatCount(server.lost)} of ${formatCount(server.logged)} events ` +
            `(${formatCount(server.duplicated)} doubled, ${formatCount(server.outOfOrder)} ` +
            `conversations out of order, ${formatCount(server.dropped)} subscribers dropped).`) +
        ` Once the server hands an event to its subscribers it reaches them in ` +
        `${formatNumber(server.fromFanOutP50.median)} ms (p50; p99 ` +
        `${formatNumber(server.fromFanOutP99.median)} ms); counted from the event's creation it ` +
        `takes ${formatNumber(server.fromTimestampP50.median)} ms (p99 ` +
        `${formatNumber(server.fromTimestampP99.median)} ms), the difference being the time to ` +
        "its durable append (write and fsync, queued behind the other conversations' work in the " +
        'one server process). That process ' +
        `kept ${formatNumber(server.serverCpuShare.median)} cores busy ` +
        `(${formatNumber(server.serverCpuPerCallMs.median)} ms of CPU per LLM call) and the ` +
        'benchmark process, which plays the model and the subscribers, ' +
        `${formatNumber(server.clientCpuShare.median)}: ` +
        (server.serverCpuShare.median >= 0.8
          ? "the server's throughput is bounded by its per-step CPU cost (see the loop section) " +
            "on Node's one event loop, not by the disk or the sockets. "
          : shared
            ? 'on this shared machine the server got less than a core, so events/s here is a floor. '
            : 'the server was not CPU-bound; it waited on its durable appends (fsync). ') +
        `Its memory peaked at ${formatNumber(server.peakRssMiB.median)} MiB ` +
        `(${formatNumber(server.startRssMiB.median)} MiB after start).`,
    );
  }
  return lines.join('\n');
}

/** How the way back, and the way back with the first request built, stand against the 10% bar. */
function readyWithin(backMet: boolean, readyMet: boolean): string {
  if (backMet && readyMet) return 'within the bar either way';
  if (backMet)
    return 'so the bar is met by the move and the open, not with the first request built';
  return 'so neither is within the bar';
}
