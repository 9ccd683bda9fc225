/**
 * Conversation folders written by the release before `ConversationStore` (see
 * `fixtures/release-0.0.0/README.md`) open unchanged with today's code.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalConversation } from '../conversation/local-conversation';
import { startScriptedLLMServer, toolCall } from '../testing/index';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { FileConversationStore } from './file-conversation-store';

const fixture = fileURLToPath(new URL('../../fixtures/release-0.0.0/', import.meta.url));
const finishedId = '0b5e4f2a-7c1d-4e8b-9a3f-5d6c7e8f9a01';
const crashedId = '1c6f5a3b-8d2e-4f9c-8b4a-6e7d8f9a0b12';
const folderOf = (id: string) => id.replaceAll('-', '');
const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/ferry-fixture-project' };

/** A copy of the fixture's conversations in a temporary root. */
async function copyOfFixture() {
  const dir = await createTemporaryDirectory();
  await cp(join(fixture, 'conversations'), dir.path, { recursive: true });
  return dir;
}

async function eventLines(root: string, id: string): Promise<unknown[]> {
  const text = await readFile(join(root, folderOf(id), 'events', 'segment-000001.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('the child process did not start');
  return child.pid;
}

describe('folders written by the release before ConversationStore', () => {
  it('are the files the fixture lists', async () => {
    const sums = await readFile(join(fixture, 'SHA256SUMS'), 'utf8');
    for (const line of sums.trim().split('\n')) {
      const [sum, path = ''] = line.split(/\s+/);
      const bytes = await readFile(join(fixture, 'conversations', path));
      expect(createHash('sha256').update(bytes).digest('hex'), path).toBe(sum);
    }
  });

  it('read through the file store exactly as written', async () => {
    await using dir = await copyOfFixture();
    const store = new FileConversationStore({ root: dir.path });
    expect(await store.list()).toEqual([finishedId, crashedId].sort());
    for (const id of [finishedId, crashedId]) {
      const file = await readFile(join(dir.path, folderOf(id), 'base_state.json'), 'utf8');
      expect(await store.readState(id)).toEqual(JSON.parse(file));
      expect(await store.readEvents(id)).toEqual(await eventLines(dir.path, id));
      expect(await store.files(id).readText('TASKS.json')).toBe(
        await readFile(join(dir.path, folderOf(id), 'TASKS.json'), 'utf8'),
      );
    }
    expect(await store.eventCount(finishedId)).toBe(
      (await eventLines(dir.path, finishedId)).length,
    );
  });

  it('resume, run on and keep every byte of the old log', async () => {
    await using dir = await copyOfFixture();
    await using llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'Done again.' })],
    });
    const folder = join(dir.path, folderOf(finishedId));
    const oldLog = await readFile(join(folder, 'events', 'segment-000001.jsonl'));
    const oldState = JSON.parse(await readFile(join(folder, 'base_state.json'), 'utf8')) as {
      stats: unknown;
      title: string;
      tags: unknown;
    };
    const conversation = await LocalConversation.open({
      persistenceDir: dir.path,
      conversationId: finishedId,
      workspace,
      onWarning: () => undefined,
      agent: {
        llm: {
          model: 'scripted-model',
          base_url: llm.baseUrl,
          api_key: 'sk-new-key',
          temperature: 0,
        },
        tools: [{ name: 'task_tracker' }],
      },
    });
    try {
      expect(conversation.openReport.mode).toBe('resumed');
      // Every old event, then the record of the changed agent (a new base URL and key).
      const oldEvents = oldLog
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown);
      const oldCount = oldEvents.length;
      expect(conversation.events.raw().slice(0, oldCount)).toEqual(oldEvents);
      expect(conversation.events.length).toBe(oldCount + 1);
      expect(conversation.events.at(-1)).toMatchObject({ key: 'agent' });
      expect(conversation.state).toMatchObject({
        title: oldState.title,
        tags: oldState.tags,
        execution_status: 'finished',
      });
      expect(conversation.state.stats).toEqual(oldState.stats);
      await conversation.sendMessage('Once more.');
      expect(await conversation.run()).toBe('finished');
    } finally {
      await conversation.close();
    }
    const newLog = await readFile(join(folder, 'events', 'segment-000001.jsonl'));
    expect(newLog.subarray(0, oldLog.length).equals(oldLog)).toBe(true);
    expect(newLog.length).toBeGreaterThan(oldLog.length);
    const state = await readFile(join(folder, 'base_state.json'), 'utf8');
    expect(state).toBe(`${JSON.stringify(JSON.parse(state), null, 2)}\n`);
    expect(state).not.toContain('sk-new-key');
    expect((await readdir(folder)).sort()).toEqual([
      'TASKS.json',
      'base_state.json',
      'context_snapshot.json',
      'events',
    ]);
  });

  it('take over the old .lock of a run killed mid-way and recover it', async () => {
    await using dir = await copyOfFixture();
    const folder = join(dir.path, folderOf(crashedId));
    // Its process died on this machine: the record as that release wrote it, here.
    const lock = JSON.parse(await readFile(join(folder, '.lock'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(lock.token).toBeUndefined();
    const pid = await deadPid();
    await writeFile(join(folder, '.lock'), JSON.stringify({ ...lock, pid, hostname: hostname() }));
    const warnings: string[] = [];
    const conversation = await LocalConversation.open({
      persistenceDir: dir.path,
      conversationId: crashedId,
      workspace,
      onWarning: (message) => warnings.push(message),
    });
    try {
      expect(warnings.join('\n')).toContain(`process ${pid}`);
      expect(conversation.openReport.recoveredFromCrash).toBe(true);
      expect(conversation.status).toBe('error');
      expect(conversation.lease.token).toBeGreaterThan(0);
      const record = JSON.parse(await readFile(join(folder, '.lock'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(record).toMatchObject({ pid: process.pid, token: conversation.lease.token });
      expect(conversation.events.at(-1)).toMatchObject({
        kind: 'ConversationStateUpdateEvent',
        key: 'execution_status',
        value: 'error',
      });
    } finally {
      await conversation.close();
    }
    expect(await readdir(folder)).not.toContain('.lock');
  });
});
