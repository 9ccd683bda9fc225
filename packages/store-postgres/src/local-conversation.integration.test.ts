/**
 * The resume contract of `LocalConversation` on a PostgresStore: the same promises as on disk.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AgentInput,
  ConversationLockedError,
  LocalConversation,
  ToolsRemovedError,
} from '@ferry/sdk-core';
import { startScriptedLLMServer, text, toolCall } from '@ferry/sdk-core/testing';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
const storeDist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
const coreDist = pathToFileURL(createRequire(import.meta.url).resolve('@ferry/sdk-core')).href;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'conversation');
});
afterAll(async () => {
  await database.drop();
});

function agentFor(baseUrl: string, extra: Partial<AgentInput> = {}): AgentInput {
  return {
    llm: { model: 'scripted-model', base_url: baseUrl, api_key: 'sk-first-key', num_retries: 0 },
    tools: [{ name: 'task_tracker' }],
    ...extra,
  };
}

const plan = (title: string) => ({ command: 'plan', task_list: [{ title }] });

/** Every table of the schema, every column, as text or bytes: where a plaintext could hide. */
async function everyStoredByte(schema: string): Promise<Buffer> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
      [schema],
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['ferry_conversations', 'ferry_events', 'ferry_files']),
    );
    const chunks: Buffer[] = [];
    for (const { table_name: table } of tables.rows) {
      const { rows } = await client.query(`SELECT * FROM "${schema}"."${table}"`);
      for (const row of rows as Record<string, unknown>[]) {
        for (const value of Object.values(row)) {
          if (Buffer.isBuffer(value)) chunks.push(value);
          else if (typeof value === 'string') chunks.push(Buffer.from(value));
          else if (value !== null) chunks.push(Buffer.from(JSON.stringify(value)));
        }
      }
    }
    return Buffer.concat(chunks);
  } finally {
    await client.end();
  }
}

describe('LocalConversation on PostgreSQL', () => {
  it('resumes with a changed agent after verification, forks, and refuses removed tools', async () => {
    const store = await PostgresStore.connect({ connectionString: database.url, schema: 'resume' });
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', plan('write the report')),
        toolCall('finish', { message: 'planned' }),
        toolCall('finish', { message: 'resumed with the new model' }),
      ],
    });
    try {
      const first = await LocalConversation.open({
        store,
        workspace,
        agent: agentFor(llm.baseUrl),
        title: 'on postgres',
        onWarning: () => undefined,
      });
      await first.sendMessage('plan the report');
      expect(await first.run()).toBe('finished');
      const id = first.id;
      const eventsBefore = [...first.events].length;
      await first.close();
      expect(await store.list()).toContain(id);
      expect(await store.files(id).readText('TASKS.json')).toContain('write the report');

      // A removed tool is refused before anything is written.
      const refused = await LocalConversation.open({
        store,
        workspace,
        conversationId: id,
        agent: agentFor(llm.baseUrl, { tools: [] }),
        onWarning: () => undefined,
      }).catch((error: unknown) => error);
      expect(ToolsRemovedError.isInstance(refused)).toBe(true);
      expect(await store.eventCount(id)).toBe(eventsBefore);

      // A changed model and an added tool are accepted and recorded.
      const changed = agentFor(llm.baseUrl, {
        llm: {
          model: 'scripted-model-2',
          base_url: llm.baseUrl,
          api_key: 'sk-second-key',
          num_retries: 0,
        },
        tools: [{ name: 'task_tracker' }, { name: 'think' }],
      });
      const resumed = await LocalConversation.open({
        store,
        workspace,
        conversationId: id,
        agent: changed,
        onWarning: () => undefined,
      });
      try {
        expect(resumed.state.title).toBe('on postgres');
        const update = [...resumed.events].find(
          (event) => event.kind === 'ConversationStateUpdateEvent' && event.key === 'agent',
        );
        expect(update).toBeDefined();
        await resumed.sendMessage('go on');
        expect(await resumed.run()).toBe('finished');
        expect(llm.requests.at(-1)?.body).toMatchObject({ model: 'scripted-model-2' });

        const fork = await resumed.fork({ title: 'the fork' });
        try {
          expect(fork.id).not.toBe(id);
          expect([...fork.events].map((event) => event.id)).toEqual(
            [...resumed.events].map((event) => event.id),
          );
          expect(await store.list()).toEqual(expect.arrayContaining([id, fork.id]));
        } finally {
          await fork.close();
        }
      } finally {
        await resumed.close();
      }
    } finally {
      await store.close();
    }
  });

  it('recovers a run cut by kill -9: committed events kept, status error, then runs again', async () => {
    const store = await PostgresStore.connect({ connectionString: database.url, schema: 'crash' });
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', plan('survive the crash')),
        // The child is killed while it waits for this answer.
        text('never delivered', { delayMs: 600_000 }),
        toolCall('finish', { message: 'finished after the crash' }),
      ],
    });
    try {
      const script = `
        import { LocalConversation } from ${JSON.stringify(coreDist)};
        import { PostgresStore } from ${JSON.stringify(storeDist)};
        const store = await PostgresStore.connect({ connectionString: process.argv[1], schema: 'crash' });
        const c = await LocalConversation.open({ store, workspace: ${JSON.stringify(workspace)},
          agent: ${JSON.stringify(agentFor(llm.baseUrl))}, onWarning: () => {} });
        process.stdout.write(c.id + '\\n');
        await c.sendMessage('plan, then wait');
        await c.run();
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, database.url], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const id = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
        child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
      });
      await llm.waitForRequest(2);
      expect((await store.readState(id))?.execution_status).toBe('running');
      const locked = await LocalConversation.open({ store, workspace, conversationId: id }).catch(
        (error: unknown) => error,
      );
      expect(ConversationLockedError.isInstance(locked)).toBe(true);

      child.kill('SIGKILL');
      await exited;
      const warnings: string[] = [];
      const resumed = await LocalConversation.open({
        store,
        workspace,
        conversationId: id,
        agent: agentFor(llm.baseUrl),
        onWarning: (message) => warnings.push(message),
      });
      try {
        expect(resumed.state.execution_status).toBe('error');
        const kinds = [...resumed.events].map((event) => event.kind);
        expect(kinds.filter((kind) => kind === 'ObservationEvent')).toHaveLength(1);
        expect(await store.files(id).readText('TASKS.json')).toContain('survive the crash');
        await resumed.sendMessage('finish now');
        expect(await resumed.run()).toBe('finished');
      } finally {
        await resumed.close();
      }
    } finally {
      await store.close();
    }
  });

  for (const mode of ['sealed with secretKey', 'redacted without a key'] as const) {
    it(`keeps no secret in plaintext in any table (${mode})`, async () => {
      const schema = mode.startsWith('sealed') ? 'secrets_sealed' : 'secrets_redacted';
      const secret = `sk-very-secret-${mode.length}-d41d8cd98f00b204`;
      const secretKey = mode.startsWith('sealed') ? 'a-key-that-seals-the-secrets' : undefined;
      const store = await PostgresStore.connect({ connectionString: database.url, schema });
      await using llm = await startScriptedLLMServer({
        script: [
          toolCall('task_tracker', plan('keep it secret')),
          toolCall('finish', { message: 'done' }),
          toolCall('finish', { message: 'done again' }),
        ],
      });
      try {
        const agent = agentFor(llm.baseUrl, {
          llm: { model: 'scripted-model', base_url: llm.baseUrl, api_key: secret, num_retries: 0 },
        });
        const conversation = await LocalConversation.open({
          store,
          workspace,
          agent,
          onWarning: () => undefined,
          ...(secretKey === undefined ? {} : { secretKey }),
        });
        await conversation.sendMessage('plan with the secret key');
        expect(await conversation.run()).toBe('finished');
        const id = conversation.id;
        await conversation.close();

        const bytes = await everyStoredByte(schema);
        expect(bytes.length).toBeGreaterThan(1000);
        expect(bytes.includes(secret)).toBe(false);
        expect(bytes.includes(Buffer.from(secret).toString('base64'))).toBe(false);

        if (secretKey !== undefined) {
          // Sealed, not redacted: the key opens the persisted secret again without a warning,
          // and another key finds ciphertext it cannot read.
          const warnings: string[] = [];
          const resumed = await LocalConversation.open({
            store,
            workspace,
            conversationId: id,
            secretKey,
            onWarning: (message) => warnings.push(message),
          });
          try {
            await resumed.sendMessage('again');
            expect(await resumed.run()).toBe('finished');
          } finally {
            await resumed.close();
          }
          expect(warnings.join('\n')).not.toMatch(/could not be decrypted/);
          const wrongKey = await LocalConversation.open({
            store,
            workspace,
            conversationId: id,
            secretKey: 'another-key-entirely',
            onWarning: (message) => warnings.push(message),
          });
          await wrongKey.close();
          expect(warnings.join('\n')).toMatch(/could not be decrypted.*cipher key differs/s);
          expect((await everyStoredByte(schema)).includes(secret)).toBe(false);
        }
      } finally {
        await store.close();
      }
    });
  }
});
