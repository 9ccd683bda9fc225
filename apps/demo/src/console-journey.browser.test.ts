/**
 * The console following conversations across places, in Debian's Chromium: a conversation
 * teleported from a laptop folder to server A, then from A's console to server B, shows its
 * journey on both servers; the console over a local folder lists what the SDK wrote there and
 * follows a run live, with readable results.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConversation } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type RecordedRequest,
  type ScriptTurn,
} from '@ferry/sdk-core/testing';
import { startConsole, startServer } from '@ferry/server';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { launchChromium, openConsole, screenshot, scriptedAgent } from './console-test-support';

/** The part of the browser's `window` this test reads (the project's types are Node's). */
interface BrowserWindow {
  getComputedStyle(element: unknown): { color: string };
}

const KEY_A = 'console-journey-key-a';
const KEY_B = 'console-journey-key-b';

/** Tool results since the last user message: the step of the current run. */
function stepOfRun(request: RecordedRequest): number {
  const lastUser = request.messages.map((message) => message.role).lastIndexOf('user');
  return request.messages.slice(lastUser).filter((message) => message.role === 'tool').length;
}

function lastUserText(request: RecordedRequest): string {
  const user = request.messages.filter((message) => message.role === 'user').at(-1);
  return JSON.stringify(user?.content ?? '');
}

describe('Ferry console in Chromium: journeys', () => {
  it('shows the journey of a conversation teleported laptop -> A, then A -> B from the console, on both servers', async (context) => {
    await using dir = await createTemporaryDirectory();
    const folders = {
      conversations: join(dir.path, 'laptop-conversations'),
      laptop: join(dir.path, 'laptop-workspace'),
      a: join(dir.path, 'server-a'),
      b: join(dir.path, 'server-b'),
    };
    for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });
    await using llm = await startScriptedLLMServer({
      respond: (request): ScriptTurn => {
        const step = stepOfRun(request);
        if (lastUserText(request).includes('on B')) {
          return step === 0
            ? toolCall('terminal', { command: 'echo running on B', summary: 'say where' })
            : text('Carried on on B.');
        }
        if (request.model === 'journey-laptop') {
          return step === 0
            ? toolCall('terminal', { command: 'echo made on the laptop', summary: 'start' })
            : text('Started here; the server goes on.');
        }
        return step === 0
          ? toolCall('terminal', { command: 'echo tested on A', summary: 'test it' })
          : text('Tested on A.');
      },
    });
    await using serverA = await startServer({ port: 0, dataDir: folders.a, apiKey: KEY_A });
    await using serverB = await startServer({ port: 0, dataDir: folders.b, apiKey: KEY_B });

    const workspace = new LocalWorkspace({ workingDir: folders.laptop });
    const browser = await launchChromium();
    try {
      const conversation = await LocalConversation.open({
        agent: scriptedAgent('journey-laptop', llm.baseUrl),
        workspace,
        persistenceDir: folders.conversations,
        title: 'A journey',
      });
      await conversation.sendMessage('Start here.');
      expect(await conversation.run()).toBe('finished');
      const onA = await teleport(conversation, {
        to: new RemoteWorkspace({
          host: serverA.url,
          apiKey: KEY_A,
          workingDir: join(folders.a, 'workspaces', 'journey'),
        }),
        agent: scriptedAgent('journey-server', llm.baseUrl),
      });
      await onA.sendMessage('Test it on the server.');
      expect(await onA.run()).toBe('finished');
      await onA.close();
      const id = onA.id;

      // On A: two stretches, the arrival from the laptop's folder.
      const pageA = await openConsole(browser, {
        url: serverA.url,
        apiKey: KEY_A,
        conversationId: id,
      });
      const bandsA = pageA.locator('#timeline .band');
      await bandsA.nth(1).getByText('Tested on A.').waitFor();
      expect(await bandsA.locator('h3.place').allTextContents()).toEqual([
        'Ran LOCAL',
        'Ran REMOTE',
      ]);
      const laptopPlace = (await bandsA.nth(0).locator('.place-where').textContent()) ?? '';
      expect(laptopPlace).toMatch(/^file:\/\/.+laptop-conversations$/);
      expect(await bandsA.nth(1).locator('.event.teleport').textContent()).toContain(laptopPlace);
      // Usage per place: the laptop's two LLM calls, then the server's two.
      expect(await bandsA.nth(0).locator('.band-stats').textContent()).toMatch(
        /^2 steps · [1-9][\d,]* tokens/,
      );
      expect(await bandsA.nth(1).locator('.band-stats').textContent()).toMatch(
        /^2 steps · [1-9][\d,]* tokens/,
      );
      expect(await bandsA.nth(1).locator('.event.agent-change').textContent()).toContain(
        'journey-server',
      );

      // Teleport A -> B from A's console, with B's key and the LLM key to run with there.
      await pageA.locator('#teleport summary').click();
      await pageA.locator('#teleport-to').fill(serverB.url);
      await pageA.locator('#teleport-api-key').fill(KEY_B);
      await pageA.locator('#teleport-llm-key').fill('scripted-key');
      await pageA.locator('#teleport-form button[type=submit]').click();
      await pageA.locator('#status', { hasText: /^parked$/ }).waitFor();
      const banner = pageA.locator('#parked');
      expect(await banner.textContent()).toContain(`left for ${serverB.url}`);
      expect(await banner.locator('a').getAttribute('href')).toBe(`${serverB.url}/ui/#${id}`);
      expect(await pageA.locator('#steer').isHidden()).toBe(true);
      expect(await pageA.locator(`[data-status-of="${id}"]`).textContent()).toBe('parked');
      const journey = [
        `LOCAL · ${hostname()}`,
        `REMOTE · ${new URL(serverA.url).host}`,
        `REMOTE · ${new URL(serverB.url).host} (now)`,
      ];
      expect(await pageA.locator('#journey li').allTextContents()).toEqual(journey);
      expect(await pageA.locator('#journey li a').last().getAttribute('href')).toBe(
        `${serverB.url}/ui/#${id}`,
      );
      await screenshot(pageA, context, 'console-parked');
      // A refuses to run its parked copy, whoever asks.
      const refused = await fetch(`${serverA.url}/api/conversations/${id}/run`, {
        method: 'POST',
        headers: { 'X-Session-API-Key': KEY_A },
      });
      expect(refused.status).toBe(409);

      // On B: three stretches; the last one arrived from A, linked to A's console.
      const pageB = await openConsole(browser, {
        url: serverB.url,
        apiKey: KEY_B,
        conversationId: id,
      });
      const bandsB = pageB.locator('#timeline .band');
      await bandsB.nth(2).locator('.event.teleport').waitFor();
      expect(await bandsB.locator('h3.place').allTextContents()).toEqual([
        'Ran LOCAL',
        'Ran REMOTE',
        'Ran REMOTE',
      ]);
      expect(await bandsB.nth(2).locator('.event.teleport a').getAttribute('href')).toBe(
        `${serverA.url}/ui/#${id}`,
      );
      expect(await pageB.locator('#journey li').allTextContents()).toEqual(journey);
      expect(await pageB.locator('#parked').isHidden()).toBe(true);

      // It runs on B, with the key given at the hop.
      await pageB.locator('#message').fill('Carry on on B.');
      await pageB.locator('#send').click();
      await bandsB.nth(2).getByText('Carried on on B.').waitFor();
      await pageB.locator('#status', { hasText: /^finished$/ }).waitFor();
      expect(await bandsB.nth(2).locator('pre.output', { hasText: 'running on B' }).count()).toBe(
        1,
      );
      expect(await bandsB.nth(2).locator('.band-stats').textContent()).toMatch(/^2 steps/);
      await screenshot(pageB, context, 'console-journey');
    } finally {
      await browser.close();
      await workspace.close();
    }
  });

  it('lists the conversations the SDK wrote in a local folder and follows a run there live', async (context) => {
    await using dir = await createTemporaryDirectory();
    const persistenceDir = join(dir.path, '.ferry');
    const workingDir = join(dir.path, 'project');
    await mkdir(workingDir, { recursive: true });
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    await using llm = await startScriptedLLMServer({
      respond: async (request): Promise<ScriptTurn> => {
        const step = stepOfRun(request);
        if (lastUserText(request).includes('watched')) {
          if (step === 1) await gate;
          return step === 0
            ? toolCall('terminal', { command: 'echo while you watch', summary: 'first' })
            : text('Done while you watched.');
        }
        switch (step) {
          case 0:
            return toolCall('file_editor', {
              command: 'create',
              path: 'greet.py',
              file_text: 'def greet(name):\n    return "Hello " + name\n\nprint(greet("Ferry"))\n',
              summary: 'write the program',
            });
          case 1:
            return toolCall('file_editor', {
              command: 'str_replace',
              path: 'greet.py',
              old_str: '    return "Hello " + name',
              new_str: '    return f"Hello, {name}!"',
              summary: 'use an f-string',
            });
          case 2:
            return toolCall('terminal', {
              command: 'ls no-such-file',
              summary: 'look for a file that is not there',
            });
          case 3:
            return toolCall('terminal', {
              command: 'seq 1 60',
              summary: 'print a long output',
            });
          default:
            return text('Wrote greet.py.');
        }
      },
    });
    const workspace = new LocalWorkspace({ workingDir });
    const browser = await launchChromium();
    try {
      const written = await LocalConversation.open({
        agent: scriptedAgent('local-model', llm.baseUrl),
        workspace,
        persistenceDir,
        title: 'Write greet.py',
      });
      await written.sendMessage('Write greet.py.');
      expect(await written.run()).toBe('finished');
      await written.close();
      const watched = await LocalConversation.open({
        agent: scriptedAgent('local-model', llm.baseUrl),
        workspace,
        persistenceDir,
        title: 'Watched live',
      });

      await using localConsole = await startConsole({ persistenceDir, apiKey: 'local-key' });
      // Without the key in the link, the console asks for it.
      const page = await openConsole(browser, {
        url: localConsole.url,
        conversationId: written.id,
      });
      await page.locator('#login').waitFor();
      await page.locator('#api-key').fill('local-key');
      await page.locator('#api-key').press('Enter');
      await page.locator('#login').waitFor({ state: 'hidden' });
      const list = page.locator('#conversations');
      await list.getByText('Write greet.py').waitFor();
      await list.getByText('Watched live').waitFor();
      expect(await page.locator('#mode').textContent()).toBe('read-only');
      expect(await page.locator('#where').textContent()).toContain(persistenceDir);
      await page.locator('#status', { hasText: /^finished$/ }).waitFor();
      await page.getByText('Wrote greet.py.').waitFor();
      // Read-only: nothing to steer, nothing to fork.
      expect(await page.locator('#steer').isHidden()).toBe(true);
      expect(await page.locator('button.fork').count()).toBe(0);

      // Readable results: the edit as a diff, the failed command red with its exit code, the
      // long output folded with its head showing.
      const edit = page.locator('.event', { hasText: 'use an f-string' });
      expect(await edit.locator('.diff .del').allTextContents()).toEqual([
        '-     return "Hello " + name',
      ]);
      expect(await edit.locator('.diff .add').allTextContents()).toEqual([
        '+     return f"Hello, {name}!"',
      ]);
      const created = page.locator('.event', { hasText: 'write the program' });
      expect(await created.locator('.diff .add').count()).toBe(4);
      const failed = page.locator('.event', { hasText: 'ls no-such-file' });
      expect(await failed.getAttribute('class')).toContain('failed');
      expect(await failed.locator('.exit.failed').textContent()).toBe('exit 2');
      expect(
        await failed
          .locator('.exit.failed')
          .evaluate(
            (node) => (globalThis as unknown as BrowserWindow).getComputedStyle(node).color,
          ),
      ).toBe('rgb(180, 35, 24)');
      const long = page.locator('.event', { hasText: 'seq 1 60' });
      expect(await long.locator('pre.output').first().textContent()).toContain('12\n…');
      await long.getByText(/^Show all \d+ lines$/).click();
      await long.locator('details.fold[open] pre', { hasText: '60' }).waitFor();
      await screenshot(page, context, 'console-local-results');

      // A run in the SDK process shows up as it happens.
      await page.locator(`#conversations a[href="#${watched.id}"]`).click();
      await page.locator('#title', { hasText: 'Watched live' }).waitFor();
      await watched.sendMessage('Work while you are watched.');
      const run = watched.run();
      await page.locator('pre.output', { hasText: 'while you watch' }).waitFor();
      await page.locator('#status', { hasText: /^running$/ }).waitFor();
      openGate();
      expect(await run).toBe('finished');
      await page.getByText('Done while you watched.').waitFor();
      await page.locator('#status', { hasText: /^finished$/ }).waitFor();
      await watched.close();
    } finally {
      openGate();
      await browser.close();
      await workspace.close();
    }
  });
});
