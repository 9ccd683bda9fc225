import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  exportConversationBundle,
} from '@ferry/sdk-core';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { generateEvents } from '../fixtures/generate-events';
import { benchAgent, benchWorkspace, writeFerryConversationDir } from '../fixtures/write-fixtures';
import { startService, type ServiceHandle } from '../harness/service';
import { elapsedMs, rotate, summarize, type Summary } from '../harness/stats';
import type { FerryServerReady, FerryServerStopped } from '../server/ferry-server-service';

/** One conversation size and how many times to teleport it. */
export interface TeleportSize {
  count: number;
  repetitions: number;
}

/** The contenders, run once each per repetition in a rotating order. */
export const teleportContenders = ['teleport', 'floor', 'raw-upload', 'export', 'import'] as const;
export type TeleportContender = (typeof teleportContenders)[number];

/** The figures of one size (times in ms); every ratio is taken within one repetition. */
export interface TeleportResult {
  count: number;
  /** Bytes of the event log. */
  logBytes: number;
  /** Bytes of the bundle (gzip-compressed tar), what both contenders send. */
  bundleBytes: number;
  repetitions: number;
  /** `teleport()` to the server, from the call to the returned `RemoteConversation`. */
  teleport: Summary;
  /** The export alone: the bundle built and read to the end, sent nowhere. */
  export: Summary;
  /** Upload and import alone: the bundle's bytes (from memory) POSTed to the server's import route. */
  import: Summary;
  /**
   * teleport - export alone - upload + import alone, per repetition: parking the local copy and
   * attaching to the server's copy, less whatever the streaming overlapped.
   */
  rest: Summary;
  /** One HTTP POST of the bundle's bytes (from memory) to a server that reads them and answers. */
  rawUpload: Summary;
  /** teleport / raw upload. */
  teleportOverRaw: Summary;
  /**
   * The floor: `tar` + `gzip -1` of the conversation folder streamed as one HTTP upload over
   * loopback into `tar -xzf` on the other side, answered once extracted.
   */
  floor: Summary;
  /** teleport / floor. Bar: at most 1.5. */
  teleportOverFloor: Summary;
  /** Teleporting the conversation back here after 50 new events on the server. */
  back: Summary;
  /** back / teleport. Bar: at most 0.1. */
  backOverTeleport: Summary;
  /**
   * The part of `back` before the conversation is opened here (its `open` progress): the delta
   * downloaded, the server's copy parked, the delta checked and appended here.
   */
  moved: Summary;
  /** moved / teleport. */
  movedOverTeleport: Summary;
  /** open / teleport: the share of the first teleport's time that the resume alone takes. */
  openOverTeleport: Summary;
  /**
   * After `back`: building the first request there (`nextLLMContext()`), which reads the live
   * context the arrival's open left unread (a resume reads it when first needed).
   */
  ready: Summary;
  /** (back + ready) / teleport: home and ready to request, against the first teleport. */
  backReadyOverTeleport: Summary;
  /** Then to the server again after 50 new events here. */
  again: Summary;
  /** again / teleport. */
  againOverTeleport: Summary;
  /**
   * Resuming the conversation here before it leaves, ready to request (`LocalConversation.open`
   * then `nextLLMContext()`: the live context read, checked and converted). The first teleport
   * then starts, as after a run here, with the history in memory.
   */
  open: Summary;
  /** Compressed bytes received coming back (a delta bundle). */
  backBytes: number;
  /** Bytes of the files the first teleport sent (uncompressed) and the second one to the server. */
  firstFileBytes: number;
  againFileBytes: number;
  /** export alone / raw upload. */
  exportOverRaw: Summary;
  /** upload + import alone / raw upload. */
  importOverRaw: Summary;
}

export interface TeleportSuiteResult {
  sizes: TeleportResult[];
  /** Peak RSS of the server process over the whole suite, MiB. */
  serverPeakRssMiB: number;
}

const API_KEY = 'bench-teleport-key';
const CONVERSATION_ID = '2b7c9e4d-5a1f-4c3b-8e6d-9f0a1b2c3d4e';

interface Sample {
  openMs: number;
  readyMs: number;
  movedMs: number;
  floorMs: number;
  backMs: number;
  againMs: number;
  backBytes: number;
  firstFileBytes: number;
  againFileBytes: number;
  teleportMs: number;
  exportMs: number;
  importMs: number;
  rawMs: number;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** The bundle of the conversation in `folder`, as it would travel (export read to the end). */
async function exportBundle(folder: string): Promise<{ bytes: number; chunks: Buffer[] }> {
  const { stream } = await exportConversationBundle({
    store: new LocalFileStore({ root: folder }),
  });
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return { bytes, chunks };
}

/** POSTs `body` from memory with `node:http`; resolves with the answer once it has been read. */
function post(
  url: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const upload = request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/gzip',
          'content-length': String(body.length),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    upload.on('error', reject);
    upload.end(body);
  });
}

/** The raw upload: the sink reads the body to the end and answers with its length. */
async function rawUpload(url: string, body: Buffer): Promise<void> {
  const answer = await post(`${url}/upload`, body);
  const received = (JSON.parse(answer.text) as { bytes: number }).bytes;
  if (answer.status !== 200 || received !== body.length) {
    throw new Error(`raw upload: the sink got ${received} of ${body.length} bytes`);
  }
}

/** The bundle POSTed to the server's import route as a raw body (what `teleport()` streams). */
async function importOnServer(url: string, body: Buffer, workingDir: string): Promise<void> {
  // With an arrival to record, as `teleport()` asks: the server opens the conversation for it.
  const query =
    `working_dir=${encodeURIComponent(workingDir)}` +
    `&teleport_from=${encodeURIComponent('file://bench/teleport')}`;
  const answer = await post(`${url}/api/conversations/import?${query}`, body, {
    'x-session-api-key': API_KEY,
  });
  if (answer.status !== 201) {
    throw new Error(`import: the server answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
}

async function deleteOnServer(url: string, id: string): Promise<void> {
  const response = await fetch(`${url}/api/conversations/${id}`, {
    method: 'DELETE',
    headers: { 'x-session-api-key': API_KEY },
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`teleport: DELETE ${id} answered ${response.status}`);
}

/**
 * The floor: `tar -cf - <folder> | gzip -1` streamed as one HTTP POST body (`node:http`) to the
 * sink, which pipes it into `tar -xzf` and answers once it is extracted.
 */
async function floorUpload(
  sinkUrl: string,
  root: string,
  folder: string,
  target: string,
): Promise<void> {
  const archive = spawn('sh', ['-c', `tar -cf - -C "$0" "$1" | gzip -1`, root, folder], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const answer = await new Promise<number>((resolve, reject) => {
    const upload = request(
      `${sinkUrl}/extract?dir=${encodeURIComponent(target)}`,
      { method: 'POST', headers: { 'content-type': 'application/gzip' } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    upload.on('error', reject);
    archive.stdout.pipe(upload);
  });
  if (answer !== 200) throw new Error(`floor: the extract answered ${answer}`);
}

/**
 * `teleport()` to the server (measured), 50 new events there, `teleport()` back here (measured),
 * 50 new events here, `teleport()` to the server again (measured); then the server's copy is
 * deleted.
 */
async function roundTrip(options: {
  url: string;
  workRoot: string;
  count: number;
  remoteWorkingDir: string;
}): Promise<
  Pick<
    Sample,
    | 'teleportMs'
    | 'openMs'
    | 'readyMs'
    | 'backMs'
    | 'movedMs'
    | 'againMs'
    | 'backBytes'
    | 'firstFileBytes'
    | 'againFileBytes'
  >
> {
  const opening = process.hrtime.bigint();
  const conversation = await LocalConversation.open({
    persistenceDir: options.workRoot,
    conversationId: CONVERSATION_ID,
    agent: benchAgent(),
    workspace: benchWorkspace,
  });
  // As after a run here: the live context read (a resume reads it when first needed).
  conversation.nextLLMContext();
  const openMs = elapsedMs(opening);
  const to = new RemoteWorkspace({
    host: options.url,
    apiKey: API_KEY,
    workingDir: options.remoteWorkingDir,
  });
  let firstFileBytes = 0;
  let start = process.hrtime.bigint();
  const remote = await teleport(conversation, {
    to,
    // What was sent: a delta bundle's manifest (and so `totalBytes`) describes every file.
    onProgress: (step) => {
      if (step.stage === 'upload') firstFileBytes = step.bytes;
    },
  });
  const teleportMs = elapsedMs(start);
  // The whole log, plus the TeleportEvent of the arrival.
  if (remote.events.length !== options.count + 1) {
    throw new Error(
      `teleport: ${remote.events.length} events arrived, expected ${options.count + 1}`,
    );
  }
  for (let index = 0; index < NEW_EVENTS; index += 1) {
    await remote.sendMessage(`A new message on the server, number ${index}.`);
  }
  let backBytes = 0;
  let movedMs = NaN;
  start = process.hrtime.bigint();
  const back = await teleport(remote, {
    to: { persistenceDir: options.workRoot, workspace: benchWorkspace },
    onProgress: (step) => {
      if (step.stage === 'download') backBytes = step.bytes;
      if (step.stage === 'open') movedMs = elapsedMs(start);
    },
  });
  const backMs = elapsedMs(start);
  if (Number.isNaN(movedMs)) throw new Error('back: teleport() never reported its open stage');
  start = process.hrtime.bigint();
  back.nextLLMContext();
  const readyMs = elapsedMs(start);
  const expected = options.count + 2 + NEW_EVENTS;
  if (back.events.raw().length !== expected) {
    throw new Error(`back: ${back.events.raw().length} events here, expected ${expected}`);
  }
  for (let index = 0; index < NEW_EVENTS; index += 1) {
    await back.sendMessage(`A new message here, number ${index}.`);
  }
  let againFileBytes = 0;
  start = process.hrtime.bigint();
  const again = await teleport(back, {
    to,
    onProgress: (step) => {
      if (step.stage === 'upload') againFileBytes = step.bytes;
    },
  });
  const againMs = elapsedMs(start);
  if (again.events.length !== expected + NEW_EVENTS + 1) {
    throw new Error(
      `again: ${again.events.length} events there, expected ${expected + NEW_EVENTS + 1}`,
    );
  }
  await again.close();
  await deleteOnServer(options.url, CONVERSATION_ID);
  return {
    teleportMs,
    openMs,
    readyMs,
    backMs,
    movedMs,
    againMs,
    backBytes,
    firstFileBytes,
    againFileBytes,
  };
}

/** Events added on each side between the hops of a round trip. */
const NEW_EVENTS = 50;

/** One repetition: every contender once, in `order`. */
async function repetition(options: {
  server: ServiceHandle<FerryServerReady>;
  sourceRoot: string;
  workRoot: string;
  count: number;
  bundle: Buffer;
  /** Where the conversation works on the server: a folder in its workspace root. */
  remoteWorkingDir: string;
  order: readonly TeleportContender[];
}): Promise<Sample> {
  const { server } = options;
  const folder = conversationFolderName(CONVERSATION_ID);
  // A fresh copy to teleport: a teleport parks the copy it leaves behind.
  await rm(options.workRoot, { recursive: true, force: true });
  await mkdir(options.workRoot, { recursive: true });
  await cp(join(options.sourceRoot, folder), join(options.workRoot, folder), { recursive: true });
  const sample: Sample = {
    teleportMs: NaN,
    exportMs: NaN,
    importMs: NaN,
    rawMs: NaN,
    floorMs: NaN,
    openMs: NaN,
    readyMs: NaN,
    backMs: NaN,
    movedMs: NaN,
    againMs: NaN,
    backBytes: NaN,
    firstFileBytes: NaN,
    againFileBytes: NaN,
  };
  for (const contender of options.order) {
    switch (contender) {
      case 'teleport': {
        Object.assign(sample, await roundTrip({ ...options, url: server.ready.url }));
        break;
      }
      case 'floor': {
        const target = join(options.workRoot, '..', 'floor-extract');
        const start = process.hrtime.bigint();
        await floorUpload(server.ready.sinkUrl, options.sourceRoot, folder, target);
        sample.floorMs = elapsedMs(start);
        await rm(target, { recursive: true, force: true });
        break;
      }
      case 'raw-upload': {
        const start = process.hrtime.bigint();
        await rawUpload(server.ready.sinkUrl, options.bundle);
        sample.rawMs = elapsedMs(start);
        break;
      }
      case 'import': {
        const start = process.hrtime.bigint();
        await importOnServer(server.ready.url, options.bundle, options.remoteWorkingDir);
        sample.importMs = elapsedMs(start);
        await deleteOnServer(server.ready.url, CONVERSATION_ID);
        break;
      }
      case 'export': {
        const start = process.hrtime.bigint();
        const exported = await exportBundle(join(options.sourceRoot, folder));
        sample.exportMs = elapsedMs(start);
        if (exported.bytes === 0) throw new Error('export: empty bundle');
        break;
      }
    }
  }
  return sample;
}

/**
 * Teleports conversations of realistic events to a real `@ferry/server` in a child process
 * (`teleport()` of `@ferry/workspace-remote`: export, streamed upload, import on the server,
 * parking the local copy, attaching), against one raw HTTP upload of the same bundle bytes to a
 * trivial `node:http` server in that same child process; and, for the split, the export alone and
 * the upload + import alone (the bundle's bytes POSTed to the server's import route).
 */
export async function runTeleportSuite(options: {
  workDir: string;
  sizes: readonly TeleportSize[];
  log: (message: string) => void;
}): Promise<TeleportSuiteResult> {
  const dataDir = join(options.workDir, 'teleport-server');
  const server = await startService<FerryServerReady>('ferry-server', { dataDir, apiKey: API_KEY });
  const results: TeleportResult[] = [];
  let stopped: FerryServerStopped | undefined;
  try {
    for (const [sizeIndex, size] of options.sizes.entries()) {
      options.log(`teleport: writing ${size.count} events`);
      const sourceRoot = join(options.workDir, `teleport-${size.count}`, 'source');
      await writeFerryConversationDir({
        root: sourceRoot,
        conversationId: CONVERSATION_ID,
        events: generateEvents({ count: size.count, seed: size.count }),
      });
      const folder = join(sourceRoot, conversationFolderName(CONVERSATION_ID));
      const logBytes = await folderBytes(join(folder, 'events'));
      const bundle = Buffer.concat((await exportBundle(folder)).chunks);
      const run = (order: readonly TeleportContender[]) =>
        repetition({
          server,
          sourceRoot,
          workRoot: join(options.workDir, `teleport-${size.count}`, 'work'),
          count: size.count,
          bundle,
          remoteWorkingDir: join(dataDir, 'workspaces', 'bench-teleport'),
          order,
        });
      // Loads the modules and warms both ends up once; not measured.
      if (sizeIndex === 0) await run(teleportContenders);
      const samples: Sample[] = [];
      for (let index = 0; index < size.repetitions; index += 1) {
        samples.push(await run(rotate(teleportContenders, index)));
        options.log(`teleport: ${size.count} events, repetition ${index + 1}/${size.repetitions}`);
      }
      const of = (pick: (sample: Sample) => number) => summarize(samples.map(pick));
      results.push({
        count: size.count,
        logBytes,
        bundleBytes: bundle.length,
        repetitions: size.repetitions,
        teleport: of((sample) => sample.teleportMs),
        export: of((sample) => sample.exportMs),
        import: of((sample) => sample.importMs),
        rest: of((sample) => sample.teleportMs - sample.exportMs - sample.importMs),
        rawUpload: of((sample) => sample.rawMs),
        floor: of((sample) => sample.floorMs),
        teleportOverFloor: of((sample) => sample.teleportMs / sample.floorMs),
        back: of((sample) => sample.backMs),
        open: of((sample) => sample.openMs),
        backOverTeleport: of((sample) => sample.backMs / sample.teleportMs),
        moved: of((sample) => sample.movedMs),
        movedOverTeleport: of((sample) => sample.movedMs / sample.teleportMs),
        openOverTeleport: of((sample) => sample.openMs / sample.teleportMs),
        ready: of((sample) => sample.readyMs),
        backReadyOverTeleport: of((sample) => (sample.backMs + sample.readyMs) / sample.teleportMs),
        again: of((sample) => sample.againMs),
        againOverTeleport: of((sample) => sample.againMs / sample.teleportMs),
        backBytes: of((sample) => sample.backBytes).median,
        firstFileBytes: of((sample) => sample.firstFileBytes).median,
        againFileBytes: of((sample) => sample.againFileBytes).median,
        teleportOverRaw: of((sample) => sample.teleportMs / sample.rawMs),
        exportOverRaw: of((sample) => sample.exportMs / sample.rawMs),
        importOverRaw: of((sample) => sample.importMs / sample.rawMs),
      });
    }
  } finally {
    stopped = await server.stop<FerryServerStopped>();
  }
  return { sizes: results, serverPeakRssMiB: stopped.peakRssMiB };
}
