/**
 * The Ferry demo: one conversation that runs locally, teleports to a Ferry server where a
 * different agent continues it, and teleports back to finish locally.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { styleText } from 'node:util';
import { Command } from 'commander';
import { LocalConversation, planResume, type AgentInput, type ResumePlan } from '@ferry/sdk-core';
import { startScriptedLLMServer, type ScriptedLLMServer } from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { TransferProgress } from './progress';
import { LOCAL_MODEL, REMOTE_MODEL, storyTurn } from './story';
import { TimelinePrinter } from './timeline';

const program = new Command()
  .name('ferry-demo')
  .description(
    'A conversation that travels: it runs locally, teleports to a Ferry server where a ' +
      'different agent continues it, and comes back to finish locally.',
  )
  .option(
    '--keep',
    'keep the server running and the temporary folders after the demo (it prints how to stop it)',
  )
  .addHelpText(
    'after',
    `
By default the agents are played by a scripted LLM on loopback: no key, no network.
To use a real model instead, set:
  LLM_MODEL         e.g. openai/gpt-4.1-mini or anthropic/claude-sonnet-4-5
  LLM_API_KEY       the provider key
  LLM_BASE_URL      optional: any OpenAI-compatible endpoint
  REMOTE_LLM_MODEL  optional: another model for the server side`,
  );

/** How long the server gets to shut down before it is killed. */
const SERVER_STOP_GRACE_MS = 10_000;

interface Folders {
  root: string;
  conversations: string;
  workspace: string;
  serverData: string;
  serverWorkspaces: string;
}

async function makeFolders(): Promise<Folders> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-demo-'));
  const folders = {
    root,
    conversations: join(root, 'local-conversations'),
    workspace: join(root, 'local-workspace'),
    serverData: join(root, 'server-data'),
    serverWorkspaces: join(root, 'server-workspaces'),
  };
  for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });
  return folders;
}

/** Starts `ferry-server` as its own process and resolves with its URL once it listens. */
async function startServerProcess(
  folders: Folders,
  apiKey: string,
): Promise<{ url: string; child: ChildProcess }> {
  const require = createRequire(import.meta.url);
  const cli = join(require.resolve('@ferry/server/package.json'), '..', 'bin', 'ferry-server.js');
  const child = spawn(
    process.execPath,
    [
      cli,
      '--port',
      '0',
      '--data-dir',
      folders.serverData,
      '--workspace-root',
      folders.serverWorkspaces,
    ],
    { env: { ...process.env, FERRY_API_KEY: apiKey }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return { url: await printedUrl(child, 'ferry-server', /listening on (http:\/\/\S+)/), child };
}

/**
 * Starts `ferry-console` over the local conversations folder: the local copy holds the whole
 * journey (the server's copy stops where the conversation left it).
 */
async function startConsoleProcess(
  folders: Folders,
  apiKey: string,
): Promise<{ url: string; child: ChildProcess }> {
  const require = createRequire(import.meta.url);
  const bin = join(require.resolve('@ferry/server/package.json'), '..', 'bin', 'ferry-console.js');
  const child = spawn(process.execPath, [bin, folders.conversations, '--port', '0'], {
    env: { ...process.env, FERRY_CONSOLE_API_KEY: apiKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { url: await printedUrl(child, 'ferry-console', / at (http:\/\/\S+)\/ui\//), child };
}

/** The URL a child process prints once it listens. */
function printedUrl(child: ChildProcess, name: string, pattern: RegExp): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = pattern.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`${name} exited (${code}) before listening: ${out}`)),
    );
  });
}

/** A console URL that opens the conversation; the key rides in the fragment, never sent. */
function consoleUrl(url: string, apiKey: string, conversationId: string): string {
  return `${url}/ui/#key=${apiKey}&conversation=${conversationId}`;
}

function agents(llm: { baseUrl?: string }): { local: AgentInput; remote: AgentInput } {
  const tools = [{ name: 'terminal' }, { name: 'file_editor' }];
  const real = process.env.LLM_MODEL;
  const base = (model: string) =>
    real
      ? {
          model,
          api_key: process.env.LLM_API_KEY,
          ...(process.env.LLM_BASE_URL ? { base_url: process.env.LLM_BASE_URL } : {}),
        }
      : { model, base_url: llm.baseUrl, api_key: 'scripted-demo-key' };
  return {
    local: {
      llm: { ...base(real ?? LOCAL_MODEL), usage_id: 'local' },
      tools,
      agent_context: { system_message_suffix: "You work on the user's laptop." },
    },
    remote: {
      llm: { ...base(process.env.REMOTE_LLM_MODEL ?? real ?? REMOTE_MODEL), usage_id: 'remote' },
      tools,
      agent_context: {
        system_message_suffix:
          'You run on a Ferry server. Write tests before you change code, and run them.',
      },
    },
  };
}

function printPlan(timeline: TimelinePrinter, title: string, plan: ResumePlan): void {
  const verdict = plan.compatible
    ? styleText('green', 'compatible')
    : styleText('red', 'incompatible');
  timeline.note(`planResume → ${verdict}; ${title}:`);
  for (const change of plan.changes) {
    if (change.path.startsWith('tools') || change.path === 'kind') continue;
    if (change.secret) {
      // Both sides print masked, and the server never returns a key: say what happens instead.
      timeline.note(`    ${change.path}: sent again with the agent (secret, never shown)`);
      continue;
    }
    timeline.note(
      `    ${change.path}: ${JSON.stringify(change.old)} → ${JSON.stringify(change.new)}`,
    );
  }
}

/** Stops the server process gracefully (SIGTERM), or with SIGKILL if it does not exit. */
async function stopServer(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Set once Ctrl-C (or SIGTERM) is stopping the demo, so the failure it causes is not reported. */
let stoppingForSignal = false;

/** One handler for SIGINT and SIGTERM, set once there is something to clean up. */
function signalHandler(): {
  set(handler: (signal: NodeJS.Signals) => Promise<void>): void;
  dispose(): void;
} {
  let current: ((signal: NodeJS.Signals) => void) | undefined;
  const dispose = () => {
    if (current === undefined) return;
    process.off('SIGINT', current);
    process.off('SIGTERM', current);
    current = undefined;
  };
  return {
    set(handler) {
      dispose();
      current = (signal) => {
        dispose();
        void handler(signal);
      };
      process.on('SIGINT', current);
      process.on('SIGTERM', current);
    },
    dispose,
  };
}

async function main(): Promise<void> {
  program.parse();
  const { keep } = program.opts<{ keep?: boolean }>();
  const started = Date.now();
  const timeline = new TimelinePrinter();
  const folders = await makeFolders();
  const apiKey = randomBytes(24).toString('hex');
  let llm: ScriptedLLMServer | undefined;
  let server: { url: string; child: ChildProcess } | undefined;
  const stopOnSignal = signalHandler();
  let conversationId: string | undefined;
  // Workspaces hold shell sessions; the demo owns them and closes them at the end.
  const workspaces: LocalWorkspace[] = [];
  const track = (workspace: LocalWorkspace) => {
    workspaces.push(workspace);
    return workspace;
  };
  try {
    llm = process.env.LLM_MODEL
      ? undefined
      : await startScriptedLLMServer({ respond: (request) => storyTurn(request) });
    server = await startServerProcess(folders, apiKey);
    const child = server.child;
    // Ctrl-C (or a SIGTERM) must not leave the server behind, --keep or not.
    stopOnSignal.set(async (signal) => {
      stoppingForSignal = true;
      process.stderr.write(`\n${signal}: stopping ferry-server (pid ${child.pid})\n`);
      await stopServer(child);
      // The local conversation may still be writing its last event while the folder goes.
      await rm(folders.root, { recursive: true, force: true, maxRetries: 5 }).catch(
        (error: unknown) => {
          const why = error instanceof Error ? error.message : String(error);
          process.stderr.write(`Could not remove ${folders.root} (${why}); remove it by hand.\n`);
        },
      );
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
    const { local, remote } = agents({ ...(llm ? { baseUrl: llm.baseUrl } : {}) });
    timeline.heading('Ferry demo: a conversation that travels');
    timeline.note(
      `ferry-server (separate process, pid ${server.child.pid}) at ${server.url}; ${llm ? 'scripted LLM at ' + llm.baseUrl : 'real model ' + String(process.env.LLM_MODEL)}`,
    );

    timeline.heading('1. Locally: write a program and run it');
    const conversation = await LocalConversation.open({
      agent: local,
      workspace: track(new LocalWorkspace({ workingDir: folders.workspace })),
      persistenceDir: folders.conversations,
      title: 'Ferry demo: stats.js',
      onEvent: timeline.listener('LOCAL'),
    });
    await conversation.sendMessage(
      'Write stats.js with mean() and max() of the numbers on the command line, then run it with 1 2 3.',
    );
    await conversation.run();

    timeline.heading('2. Teleport to the server, with a different agent');
    printPlan(timeline, 'local agent → server agent', planResume(remote, conversation.agent));
    const upload = new TransferProgress('upload');
    const remoteTimeline = timeline.listener('REMOTE');
    const onServer = await teleport(conversation, {
      to: new RemoteWorkspace({
        host: server.url,
        apiKey,
        workingDir: join(folders.serverWorkspaces, 'demo'),
      }),
      agent: remote,
      includeWorkspace: true,
      onProgress: (progress) => upload.update(progress),
      onEvent: (event) => {
        upload.finish();
        remoteTimeline(event);
      },
    });
    upload.finish();
    await onServer.sendMessage(
      'Test stats.js, find and fix what is wrong, and run the tests again.',
    );
    await onServer.run();

    timeline.heading('3. Teleport back and finish locally');
    printPlan(timeline, 'server agent → local agent', planResume(local, onServer.state.agent));
    const download = new TransferProgress('download');
    const localTimeline = timeline.listener('LOCAL');
    const back = await teleport(onServer, {
      to: {
        persistenceDir: folders.conversations,
        workspace: track(new LocalWorkspace({ workingDir: folders.workspace })),
      },
      agent: local,
      includeWorkspace: true,
      onProgress: (progress) => download.update(progress),
      onEvent: (event) => {
        download.finish();
        localTimeline(event);
      },
    });
    download.finish();
    await back.sendMessage('Check the fix here and finish.');
    const status = await back.run();

    const fixed = await readFile(join(folders.workspace, 'stats.js'), 'utf8');
    const usage = Object.entries(back.state.stats.usage_to_metrics).map(
      ([id, metrics]) =>
        `${id}: ${metrics.accumulated_token_usage?.prompt_tokens ?? 0} in / ${metrics.accumulated_token_usage?.completion_tokens ?? 0} out`,
    );
    timeline.heading('Summary');
    timeline.write(`  status          ${status}`);
    timeline.write(`  events          ${back.events.length} in one log, conversation ${back.id}`);
    timeline.write(
      `  steps           LOCAL ${timeline.counts.LOCAL.steps}, REMOTE ${timeline.counts.REMOTE.steps}`,
    );
    timeline.write(`  tokens          ${usage.join('; ')}`);
    timeline.write(
      `  stats.js fixed  ${fixed.includes('sum / values.length;') ? 'yes' : 'no'} (edited on the server, present locally)`,
    );
    timeline.write(`  time            ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Without --keep the server stops with the demo, so its address would be of no use.
    timeline.write(
      keep
        ? `  server console  ${consoleUrl(server.url, apiKey, back.id)}`
        : '  server console  run `pnpm demo --keep` to keep the server and open its console',
    );
    conversationId = back.id;
    await back.close();
    if (status !== 'finished') process.exitCode = 1;
  } finally {
    await Promise.all(workspaces.map((workspace) => workspace.close()));
    await llm?.close();
    if (keep && server !== undefined) {
      stopOnSignal.dispose();
      const browse = conversationId ? await startConsoleProcess(folders, apiKey) : undefined;
      const pids = [server.child.pid, browse?.child.pid].filter((pid) => pid !== undefined);
      timeline.note(
        `\n--keep: ferry-server (pid ${server.child.pid}) keeps running at ${server.url}` +
          (browse ? `, ferry-console (pid ${browse.child.pid}) at ${browse.url}` : '') +
          `; their folders are in ${folders.root}.\nStop them with: kill ${pids.join(' ')} && ` +
          `rm -rf ${folders.root}`,
      );
      // Left running on their own: neither they nor their output pipes keep the demo alive.
      for (const child of [server.child, browse?.child]) {
        child?.unref();
        (child?.stdout as Socket | null | undefined)?.unref();
      }
      if (browse && conversationId) {
        timeline.write(
          `\nThe whole journey (LOCAL → REMOTE → LOCAL) in the console:\n  ${consoleUrl(browse.url, apiKey, conversationId)}`,
        );
      }
    } else {
      timeline.note('\nRun with --keep to browse the whole journey in the Ferry console.');
      await stopServer(server?.child);
      await rm(folders.root, { recursive: true, force: true });
      stopOnSignal.dispose();
    }
  }
}

main().catch((error: unknown) => {
  // Stopping the server on Ctrl-C fails the step in flight; the signal handler sets the exit code.
  if (stoppingForSignal) return;
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
