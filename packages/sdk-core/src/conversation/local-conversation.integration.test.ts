/**
 * Reopening in another process: the parent writes a conversation, a child Node process (using
 * the built package, as a user would) reopens it and prints what it sees.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { LocalConversation } from './local-conversation';

const dist = new URL('../../dist/index.js', import.meta.url).href;
const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
const agent = {
  llm: { model: 'openai/gpt-4.1-mini', temperature: 0.2 },
  tools: [{ name: 'terminal' }],
};

function childScript(body: string): string {
  return `import { LocalConversation } from ${JSON.stringify(dist)};\n${body}`;
}

describe('LocalConversation across processes', () => {
  it('reopens in a new process with identical state and events', async () => {
    await using dir = await createTemporaryDirectory();
    const conversation = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      agent,
      title: 'cross-process',
    });
    await conversation.sendMessage('first');
    await conversation.sendMessage('second');
    await conversation.setConfirmationPolicy({ kind: 'ConfirmRisky', threshold: 'MEDIUM' });
    const expectedState = JSON.parse(JSON.stringify(conversation.state)) as unknown;
    const expectedEvents = JSON.parse(JSON.stringify([...conversation.events])) as unknown;
    await conversation.close();

    const script = childScript(`
      const c = await LocalConversation.open({ workspace: ${JSON.stringify(workspace)}, persistenceDir: process.argv[1], conversationId: process.argv[2] });
      process.stdout.write(JSON.stringify({ state: c.state, events: [...c.events] }));
      await c.close();
    `);
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      script,
      dir.path,
      conversation.id,
    ]);
    const seen = JSON.parse(stdout) as { state: unknown; events: unknown };
    expect(seen.events).toEqual(expectedEvents);
    expect(seen.state).toEqual(expectedState);
  });

  it('refuses to open a conversation that a live process owns, and takes over once it died', async () => {
    await using dir = await createTemporaryDirectory();
    const conversation = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      agent,
    });
    await conversation.close();

    const child = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      childScript(`
        await LocalConversation.open({ workspace: ${JSON.stringify(workspace)}, persistenceDir: process.argv[1], conversationId: process.argv[2] });
        process.stdout.write('opened\\n');
        setInterval(() => {}, 1000);
      `),
      dir.path,
      conversation.id,
    ]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('opened') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    try {
      const error = await LocalConversation.open({
        workspace,
        persistenceDir: dir.path,
        conversationId: conversation.id,
      }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(ConversationLockedError.isInstance(error)).toBe(true);
      expect((error as ConversationLockedError).owner.pid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const warnings: string[] = [];
    const again = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      conversationId: conversation.id,
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings.join('\n')).toMatch(String(child.pid));
    await again.close();
  });
});
