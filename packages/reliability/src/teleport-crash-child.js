// A conversation that travels, to be killed: run by teleport-crash.reliability.test.ts as its own
// process. It runs part one locally, teleports to a ferry-server process, runs part two there,
// teleports back and finishes. It prints, one per line:
//   EVENT <id> <kind>   once an event is durable (in the local log, or on the server for the
//                       events its WebSocket delivers), so the parent knows what must survive;
//   PHASE <name>        as it goes (out-start, import-request, import-answered, out-done,
//                       back-start, mark-answered, back-done);
//   FAILED <code>       when a step fails (e.g. the server was killed), then it exits 3;
//   DONE <status>       at the end.
//
// argv[2]: JSON of { persistenceDir, workingDir, remoteWorkingDir, serverUrl, apiKey,
// llmBaseUrl, conversationId, selfKill }. selfKill names the point where the child SIGKILLs
// itself: `out-upload` (first bundle bytes streamed out), `out-after-import` (the server
// answered the import, before the hand-over), `back-download` (first bundle bytes in),
// `back-after-mark` (the server copy is parked, nothing written here yet), `back-import`
// (first bytes written here), or `none`. With `again`, back here it runs a step and teleports
// out once more (a delta: the server holds the copy parked when it came back), printing
// `again-start`, `again-import-request`, `again-done`; kill points `again-upload` and
// `again-after-import` are that hop's `out-upload` and `out-after-import`.
import process from 'node:process';
import { LocalConversation } from '@ferry/sdk-core';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';

const options = JSON.parse(process.argv[2] ?? '{}');
const selfKill = options.selfKill ?? 'none';
// Which hop the teleport's requests belong to: the first way out, or the last (`again`).
let hop = 'out';
const out = (line) => process.stdout.write(`${line}\n`);
const die = () => process.kill(process.pid, 'SIGKILL');

// Watches the teleport's own requests, to say where it is and to die at exact points.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = String(typeof input === 'object' && 'url' in input ? input.url : input);
  const method = init?.method ?? 'GET';
  const isImport = method === 'POST' && url.includes('/api/conversations/import');
  const isMark = method === 'POST' && url.includes('/mark_teleported');
  if (isImport) out(hop === 'again' ? 'PHASE again-import-request' : 'PHASE import-request');
  const response = await realFetch(input, init);
  if (isImport) {
    out(hop === 'again' ? 'PHASE again-import-answered' : 'PHASE import-answered');
    if (selfKill === `${hop}-after-import`) die();
  }
  if (isMark) {
    out('PHASE mark-answered');
    if (selfKill === 'back-after-mark') die();
  }
  return response;
};

const onEvent = (event) => out(`EVENT ${event.id} ${event.kind}`);
const onProgress = (progress) => {
  if (progress.bytes === 0) return;
  if (progress.stage === 'upload' && selfKill === `${hop}-upload`) die();
  if (progress.stage === 'download' && selfKill === 'back-download') die();
  if (progress.stage === 'import' && selfKill === 'back-import') die();
};
const agent = {
  llm: {
    model: 'teleport-model',
    base_url: options.llmBaseUrl,
    api_key: 'teleport-test-key',
    usage_id: 'teleport',
  },
  tools: [{ name: 'terminal' }, { name: 'task_tracker' }],
};

const workspace = new LocalWorkspace({ workingDir: options.workingDir });
const serverWorkspace = () =>
  new RemoteWorkspace({
    host: options.serverUrl,
    apiKey: options.apiKey,
    workingDir: options.remoteWorkingDir,
  });
try {
  const local = await LocalConversation.open({
    conversationId: options.conversationId,
    persistenceDir: options.persistenceDir,
    workspace,
    agent,
    onEvent,
    onWarning: () => undefined,
  });
  await local.sendMessage('Part one.');
  out(`PHASE local-run ${await local.run()}`);

  out('PHASE out-start');
  const remote = await teleport(local, {
    to: serverWorkspace(),
    agent,
    onEvent,
    onProgress,
  });
  out('PHASE out-done');
  await remote.sendMessage('Part two.');
  out(`PHASE remote-run ${await remote.run()}`);

  out('PHASE back-start');
  const back = await teleport(remote, {
    to: { persistenceDir: options.persistenceDir, workspace },
    agent,
    onEvent,
    onProgress,
  });
  out('PHASE back-done');
  let last = back;
  if (options.again === true) {
    await back.sendMessage('Part three.');
    out(`PHASE local-run-again ${await back.run()}`);
    hop = 'again';
    out('PHASE again-start');
    last = await teleport(back, {
      to: serverWorkspace(),
      agent,
      onEvent,
      onProgress,
    });
    out('PHASE again-done');
  }
  await last.sendMessage('Finish the task.');
  out(`DONE ${await last.run()}`);
  await last.close();
  await workspace.close();
} catch (error) {
  out(`FAILED ${error?.code ?? error?.name ?? 'unknown'}`);
  process.stderr.write(`${error?.stack ?? String(error)}\n`);
  await workspace.close().catch(() => undefined);
  process.exit(3);
}
