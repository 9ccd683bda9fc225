import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { apiRequest, filesUnder, httpRequest, type HttpAnswer } from './hostile-client';
import { startServerProcess, type ServerProcess } from './teleport-server-process';

// A server with --sandbox (network off), a secret key and an API key, and two conversations:
// the agent of one tries every way out of its sandbox the issue lists; each must fail, the
// server must keep answering, and no secret may reach any event.

const API_KEY = `ferry-api-${randomBytes(16).toString('hex')}`;
const SECRET_KEY = randomBytes(32).toString('hex');
const VICTIM_TOKEN = `victim-token-${randomBytes(16).toString('hex')}`;
const VICTIM_FILE_CONTENT = `victim-file-${randomBytes(16).toString('hex')}`;
const MAX_PROCESSES = 200;
const PLANTED = {
  FERRY_API_KEY: API_KEY,
  FERRY_SECRET_KEY: SECRET_KEY,
  "the victim's secret": VICTIM_TOKEN,
  "the victim's file": VICTIM_FILE_CONTENT,
};

let dir: TemporaryDirectory;
let llm: ScriptedLLMServer;
let server: ServerProcess;
let dataDir: string;
let workspaceRoot: string;
/** A folder outside every workspace that nothing may write into. */
let canary: string;
let victim: { id: string; workingDir: string };

/** The attacks, in order: each a tool call of the attacker's scripted model. */
let attacks: { name: string; args: Record<string, unknown> }[] = [];

function api(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return apiRequest(server.url, API_KEY, method, path, body);
}

function agent(model: string) {
  return {
    kind: 'Agent',
    llm: { model, base_url: llm.baseUrl, api_key: 'sk-scripted', num_retries: 0 },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

async function create(model: string, secrets?: Record<string, string>) {
  const created = await api('POST', '/api/conversations', {
    agent: agent(model),
    ...(secrets === undefined ? {} : { secrets }),
    initial_message: { content: [{ type: 'text', text: 'Go.' }], run: true },
  });
  expect(created.status, created.body.toString()).toBe(201);
  const info = created.json as { id: string; workspace: { working_dir: string } };
  return { id: info.id, workingDir: info.workspace.working_dir };
}

async function statusOf(id: string): Promise<string> {
  const info = (await api('GET', `/api/conversations/${id}`)).json as { execution_status: string };
  return info.execution_status;
}

const terminal = (command: string, timeout = 60) => ({
  name: 'terminal',
  args: { command, timeout },
});
const editor = (args: Record<string, unknown>) => ({ name: 'file_editor', args });

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  dataDir = join(dir.path, 'data');
  workspaceRoot = join(dir.path, 'workspaces');
  canary = join(dir.path, 'canary');
  await mkdir(canary);
  llm = await startScriptedLLMServer({
    respond: (request) => {
      if (request.model === 'victim') return text('Nothing to do.');
      const step = request.messages.filter((message) => message.role === 'tool').length;
      const attack = attacks[step];
      return attack === undefined ? text('Done.') : toolCall(attack.name, attack.args);
    },
  });
  server = await startServerProcess({
    dataDir,
    workspaceRoot,
    apiKey: API_KEY,
    secretKey: SECRET_KEY,
    serverFlags: ['--sandbox', 'no-network', '--sandbox-max-processes', String(MAX_PROCESSES)],
  });
});

afterAll(async () => {
  await server?.stop();
  await llm?.close();
  await dir?.remove();
});

describe('a sandboxed server against its own agent', () => {
  it('contains every escape attempt, stays up, and leaks no secret', async () => {
    victim = await create('victim', { VICTIM_TOKEN });
    await expect.poll(() => statusOf(victim.id), { timeout: 60_000 }).toBe('finished');
    await writeFile(join(victim.workingDir, 'victim-secret.txt'), VICTIM_FILE_CONTENT);
    const victimFolder = victim.id.replaceAll('-', '');
    const victimState = join(dataDir, 'conversations', victimFolder);
    const serverPid = server.child.pid ?? 0;
    const port = server.port;
    const llmPort = new URL(llm.baseUrl).port;

    attacks = [
      // Another conversation's workspace, state and events; the data directory.
      terminal(`cat ${victim.workingDir}/victim-secret.txt; ls -la ${workspaceRoot}`),
      terminal(
        `cat ${victimState}/base_state.json; cat ${victimState}/events/*; ls -laR ${dataDir}; ` +
          `find / -name base_state.json 2>/dev/null | head`,
      ),
      // The server's keys: its environment and any /proc/*/environ.
      terminal(
        `env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; cat /proc/${serverPid}/environ`,
      ),
      // Writes outside the working folder: directly, through .. and through symlinks.
      terminal(
        [
          `echo pwned > ${victim.workingDir}/pwned.txt`,
          'echo pwned > ../escape.txt',
          `echo pwned > ${canary}/pwned.txt`,
          `ln -s ${victim.workingDir} victim-link; echo pwned > victim-link/linked.txt`,
          'ln -s .. up; echo pwned > up/escape-link.txt',
          `ln -s ${canary} canary-link; echo pwned > canary-link/linked.txt`,
          'echo pwned > /etc/pwned; echo pwned > /usr/pwned',
          'ls -la . up/ victim-link/ canary-link/',
        ].join('; '),
      ),
      editor({ command: 'view', path: `${victim.workingDir}/victim-secret.txt` }),
      editor({ command: 'view', path: 'victim-link/victim-secret.txt' }),
      editor({ command: 'create', path: '../escape-editor.txt', file_text: 'pwned' }),
      editor({ command: 'create', path: 'up/escape-editor-link.txt', file_text: 'pwned' }),
      editor({ command: 'create', path: `${canary}/editor.txt`, file_text: 'pwned' }),
      editor({ command: 'view', path: `${victimState}/base_state.json` }),
      // Signal or trace the server process (ptrace is syscall 101, PTRACE_ATTACH 16).
      terminal(
        `kill -9 ${serverPid}; kill -STOP ${serverPid}; ` +
          `perl -e '$r = syscall(101, 16, ${serverPid}, 0, 0); print "ptrace=$r $!\\n"'; ` +
          `ls /proc | grep -c '^[0-9]'`,
      ),
      terminal('kill -9 -1'),
      // The network is off: not even the server's own port, nor the LLM's.
      terminal(
        `for p in ${port} ${llmPort}; do (echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null ` +
          `&& echo "CONNECTED $p" || echo "REFUSED $p"; done`,
      ),
      // Fill /tmp and /dev/shm.
      terminal(
        'head -c 2000000000 /dev/zero > /tmp/fill; head -c 2000000000 /dev/zero > /dev/shm/fill; ' +
          'du -sk /tmp/fill /dev/shm/fill',
        120,
      ),
      // A fork bomb, counted from inside with builtins only (nothing can fork at its height),
      // then everything in the sandbox killed.
      terminal(
        'sleep 8 & s=$!; :(){ :|:& };: 2>/dev/null; wait $s; ' +
          'n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo PROCS=$n; kill -9 -1',
        120,
      ),
    ];

    const attacker = await create('attacker');
    // The server answers all along.
    const answers: number[] = [];
    let status = await statusOf(attacker.id);
    const deadline = Date.now() + 600_000;
    while ((status === 'running' || status === 'idle') && Date.now() < deadline) {
      answers.push((await httpRequest(server.url, { method: 'GET', path: '/alive' })).status);
      await sleep(200);
      status = await statusOf(attacker.id);
    }
    expect(status).toBe('finished');
    expect(answers.length).toBeGreaterThan(0);
    expect(new Set(answers)).toEqual(new Set([200]));
    expect(server.child.exitCode).toBeNull();

    const events = (await api('GET', `/api/conversations/${attacker.id}/events/search?limit=100`))
      .json as { items: { kind: string; observation?: { content?: { text?: string }[] } }[] };
    // What each tool call showed the agent.
    const observations = events.items
      .filter((event) => event.kind === 'ObservationEvent')
      .map((event) => (event.observation?.content ?? []).map((part) => part.text ?? '').join(''));
    expect(observations).toHaveLength(attacks.length);
    const [
      readVictim,
      readData,
      readEnv,
      writes,
      viewVictim,
      viewLink,
      createUp,
      createLinkUp,
      createCanary,
      viewState,
      signal,
      ,
      network,
      fill,
      bomb,
    ] = observations;
    expect(readVictim).toContain('No such file or directory');
    expect(readData).toContain('No such file or directory');
    // Neither a state document nor an event, and `find /` finds no conversation anywhere.
    expect(readData).not.toMatch(/execution_status|"kind"|^\/\S*base_state\.json$/m);
    expect(readEnv).not.toContain('FERRY_');
    expect(writes).toContain('Read-only file system');
    for (const refused of [viewVictim, viewLink, createUp, createLinkUp, createCanary, viewState]) {
      expect(refused).toMatch(/outside the workspace|does not exist|No such file/);
    }
    expect(signal).toContain('No such process');
    expect(signal).toContain('ptrace=-1');
    expect(network).toContain(`REFUSED ${port}`);
    expect(network).not.toMatch(/^CONNECTED/m);
    expect(fill).toContain('No space left on device');
    const processes = Number(/PROCS=(\d+)/.exec(bomb ?? '')?.[1]);
    expect(processes, bomb).toBeGreaterThan(10);
    expect(processes).toBeLessThanOrEqual(MAX_PROCESSES + 5);

    // Nothing outside the attacker's folder changed on the host.
    expect((await readdir(workspaceRoot)).sort()).toEqual(
      [victimFolder, attacker.workingDir.split('/').at(-1)].sort(),
    );
    expect(await readdir(victim.workingDir)).toEqual(['victim-secret.txt']);
    expect(await readFile(join(victim.workingDir, 'victim-secret.txt'), 'utf8')).toBe(
      VICTIM_FILE_CONTENT,
    );
    expect(await readdir(canary)).toEqual([]);
    expect(await readdir(dir.path)).toEqual(expect.arrayContaining(['canary', 'data']));
    expect((await readdir(dir.path)).length).toBe(3);

    // The victim is intact and the server still serves it.
    expect((await api('GET', `/api/conversations/${victim.id}`)).status).toBe(200);
    expect(await statusOf(victim.id)).toBe('finished');

    // Byte scan: no planted secret in any file of the data directory (state and events).
    const files = await filesUnder(dataDir);
    const hits = files.flatMap(({ path, data }) =>
      Object.entries(PLANTED)
        .filter(([, value]) => data.includes(value))
        .map(([label]) => `${label} in ${path}`),
    );
    console.info(
      `sandbox: ${attacks.length} attacks, ${answers.length} health checks answered 200, ` +
        `${processes} processes at the fork bomb's height (limit ${MAX_PROCESSES}), ` +
        `${files.length} data files scanned for ${Object.keys(PLANTED).length} secrets: ${hits.length} hits`,
    );
    expect(hits).toEqual([]);
  });
});
