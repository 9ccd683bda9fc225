/**
 * Runs the README's walkthrough as written: `start.mjs` in a fresh project, killed with SIGKILL
 * mid-run, then `resume.mjs` with a changed agent, then `export.mjs`; and `move-folders.mjs`. The project links the built packages in place
 * of an npm install; the LLM is the scripted test server behind OPENAI_BASE_URL.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalConversation, readBundleManifest } from '@ferry/sdk-core';
import { startScriptedLLMServer, text, toolCall } from '@ferry/sdk-core/testing';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let database: TestDatabase;
let project: string;

/** The README's code block whose first line is `// <name>`. */
async function example(name: string): Promise<string> {
  const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```js snippet\n([\s\S]*?)```/g)]
    .map((match) => match[1] ?? '')
    .find((code) => code.startsWith(`// ${name}\n`));
  if (block === undefined) throw new Error(`README.md has no block starting with // ${name}`);
  return block;
}

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'readme');
  project = await mkdtemp(join(tmpdir(), 'ferry-postgres-readme-'));
  await writeFile(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  const links: Record<string, string> = {
    '@ferry/sdk-core': join(packageDir, 'node_modules/@ferry/sdk-core'),
    '@ferry/store-postgres': packageDir,
    '@ferry/workspace-local': join(packageDir, 'node_modules/@ferry/workspace-local'),
    zod: join(packageDir, 'node_modules/zod'),
  };
  for (const [name, target] of Object.entries(links)) {
    const link = join(project, 'node_modules', name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(target, link, 'dir');
  }
  for (const name of ['start.mjs', 'resume.mjs', 'export.mjs', 'move-folders.mjs']) {
    await writeFile(join(project, name), await example(name));
  }
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
  await database.drop();
});

describe('README walkthrough', () => {
  it('survives kill -9 and resumes with a changed agent, as written', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', {
          command: 'plan',
          task_list: [{ title: 'tag' }, { title: 'build' }, { title: 'publish' }],
        }),
        // start.mjs is killed while it waits for this answer.
        text('never delivered', { delayMs: 600_000 }),
        toolCall('finish', { message: 'checklist done' }),
      ],
    });
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      OPENAI_API_KEY: 'sk-readme-key',
      OPENAI_BASE_URL: llm.baseUrl,
    };
    const start = spawn(process.execPath, ['start.mjs'], { cwd: project, env });
    let output = '';
    start.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    start.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      start.once('exit', (_code, signal) => resolve(signal)),
    );
    await llm.waitForRequest(2);
    start.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const id = /conversation ([0-9a-f-]{36})/.exec(output)?.[1];
    expect(id, output).toBeDefined();

    const { stdout } = await promisify(execFile)(process.execPath, ['resume.mjs', id!], {
      cwd: project,
      env,
    });
    expect(stdout).toContain('recovered from a crash: true');
    expect(stdout).toMatch(/changed: .*llm\.model/);
    expect(stdout).toContain('status finished');
    expect(llm.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4.1' });

    const exported = await promisify(execFile)(process.execPath, ['export.mjs', id!], {
      cwd: project,
      env,
    });
    expect(exported.stdout).toMatch(
      new RegExp(`exported \\d+ events to conversation-${id}\\.tar\\.gz`),
    );
    const manifest = await readBundleManifest(join(project, `conversation-${id}.tar.gz`));
    expect(manifest.conversation_id).toBe(id);
  });

  it('moves folder conversations into PostgreSQL, as written', async () => {
    const persistenceDir = join(project, 'conversations');
    const onDisk = await LocalConversation.open({
      persistenceDir,
      workspace: { kind: 'LocalWorkspace', workingDir: project },
      agent: { llm: { model: 'openai/gpt-4.1-mini' }, tools: [] },
      title: 'from a folder',
    });
    const id = onDisk.id;
    await onDisk.close();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['move-folders.mjs', './conversations'],
      { cwd: project, env: { ...process.env, DATABASE_URL: database.url } },
    );
    expect(stdout).toContain(`moved ${id}`);
    const store = await PostgresStore.connect({ connectionString: database.url });
    try {
      expect((await store.readState(id))?.title).toBe('from a folder');
    } finally {
      await store.close();
    }
  });
});
