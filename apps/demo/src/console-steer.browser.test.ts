/**
 * The console steering conversations on a real server, in Debian's Chromium: answering a
 * confirmation, sending a message whose run streams in live, pausing it, switching the LLM,
 * forking from an event, and interrupting a command that is still running.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
} from '@ferry/sdk-core/testing';
import { startServer } from '@ferry/server';
import {
  callApi,
  launchChromium,
  openConsole,
  screenshot,
  scriptedAgent,
} from './console-test-support';

const API_KEY = 'console-steer-test-key';

async function serverIn(path: string) {
  const dataDir = join(path, 'server-data');
  await mkdir(dataDir, { recursive: true });
  return startServer({ host: '127.0.0.1', port: 0, dataDir, apiKey: API_KEY });
}

function toolMessages(request: { messages: { role: string }[] }): number {
  return request.messages.filter((message) => message.role === 'tool').length;
}

describe('Ferry console in Chromium: steering', () => {
  it('answers a confirmation from the page: reject with a reason, run, accept, and the run finishes', async (context) => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      respond: (request): ScriptTurn => {
        switch (toolMessages(request)) {
          case 0:
            return toolCall('terminal', {
              command: 'rm -rf build',
              summary: 'clean the build folder',
              security_risk: 'HIGH',
            });
          case 1:
            return toolCall('terminal', {
              command: 'echo confirmed from the page',
              summary: 'say hello instead',
              security_risk: 'LOW',
            });
          default:
            return text('Done after your confirmation.');
        }
      },
    });
    await using server = await serverIn(dir.path);
    const created = await callApi<{ id: string }>(server.url, API_KEY, '/api/conversations', {
      agent: scriptedAgent('console-confirm', llm.baseUrl),
      confirmation_policy: { kind: 'AlwaysConfirm' },
      title: 'Needs a yes',
      initial_message: { content: [{ type: 'text', text: 'Tidy up, carefully.' }], run: true },
    });

    const browser = await launchChromium();
    try {
      const session = await browser.newContext();
      const urls: string[] = [];
      session.on('request', (request) => urls.push(request.url()));
      session.on('page', (opened) => opened.on('websocket', (socket) => urls.push(socket.url())));
      const page = await openConsole(session, {
        url: server.url,
        apiKey: API_KEY,
        conversationId: created.id,
      });
      // The key was taken from the fragment and is gone from the address bar.
      expect(page.url()).toBe(`${server.url}/ui/#${created.id}`);

      const confirm = page.locator('#confirm');
      await confirm.getByText('$ rm -rf build').waitFor();
      expect(await confirm.locator('.risk').textContent()).toBe('HIGH risk');
      expect(await confirm.textContent()).toContain('clean the build folder');
      await page.locator('#status', { hasText: /^waiting_for_confirmation$/ }).waitFor();
      // The panel takes the focus, so a keyboard user answers at once.
      expect(await page.evaluate('document.activeElement.id')).toBe('accept');
      await screenshot(page, context, 'console-confirmation');

      await page.locator('#reject-reason').fill('not the build folder');
      await page.locator('#reject').click();
      await page
        .locator('.event', { hasText: 'rm -rf build' })
        .getByText('Rejected: not the build folder')
        .waitFor();
      await confirm.waitFor({ state: 'hidden' });

      await page.locator('#run').click();
      await confirm.getByText('$ echo confirmed from the page').waitFor();
      expect(await confirm.locator('.risk').textContent()).toBe('LOW risk');
      // The agent was told why its first action was refused.
      expect(JSON.stringify(llm.requests[1]?.messages)).toContain('not the build folder');

      await page.locator('#accept').click();
      await page.locator('#status', { hasText: /^finished$/ }).waitFor();
      const echo = page.locator('.event', { hasText: 'echo confirmed from the page' });
      await echo.locator('pre.output', { hasText: 'confirmed from the page' }).waitFor();
      expect(await echo.locator('.exit').textContent()).toBe('exit 0');
      await page.getByText('Done after your confirmation.').waitFor();
      expect(await confirm.isHidden()).toBe(true);
      const info = await callApi<{ execution_status: string }>(
        server.url,
        API_KEY,
        `/api/conversations/${created.id}`,
      );
      expect(info.execution_status).toBe('finished');
      // The key went in headers and the socket's first frame, never in a URL sent to the server.
      expect(urls.some((url) => url.includes('/sockets/events/'))).toBe(true);
      expect(urls.filter((url) => url.includes(API_KEY))).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('sends a message whose run streams in live, pauses it, switches the LLM and forks', async (context) => {
    await using dir = await createTemporaryDirectory();
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    await using llm = await startScriptedLLMServer({
      respond: async (request): Promise<ScriptTurn> => {
        if (request.model === 'console-switched') return text('Finished with the new model.');
        const step = toolMessages(request);
        if (step === 1) await gate;
        return toolCall('terminal', {
          command: `echo step ${step + 1}`,
          summary: `step ${step + 1}`,
        });
      },
    });
    await using server = await serverIn(dir.path);
    const created = await callApi<{ id: string }>(server.url, API_KEY, '/api/conversations', {
      agent: scriptedAgent('console-live', llm.baseUrl),
      title: 'Live steps',
    });

    const browser = await launchChromium();
    try {
      const page = await openConsole(browser, {
        url: server.url,
        apiKey: API_KEY,
        conversationId: created.id,
      });
      await page.locator('#status', { hasText: /^idle$/ }).waitFor();
      await page.locator('#message').fill('Count the steps.');
      await page.locator('#message').press('Control+Enter');

      // The first step streams in while the second is still being decided.
      await page.locator('.event.user', { hasText: 'Count the steps.' }).waitFor();
      await page.locator('pre.output', { hasText: 'step 1' }).waitFor();
      await llm.waitForRequest(2);
      await page.locator('#status', { hasText: /^running$/ }).waitFor();
      expect(await page.locator('#message').inputValue()).toBe('');
      expect(await page.locator('#pause').isEnabled()).toBe(true);
      expect(await page.locator('#totals').textContent()).toMatch(/In all: 1 step · [1-9]/);
      await screenshot(page, context, 'console-live-run');

      await page.locator('#pause').click();
      openGate();
      await page.locator('#status', { hasText: /^paused$/ }).waitFor();
      await page.locator('.event', { hasText: 'Paused' }).waitFor();
      await page.locator('pre.output', { hasText: 'step 2' }).waitFor();
      // Paused between steps: the agent was not asked for a third.
      expect(llm.requests).toHaveLength(2);
      expect(await page.locator('#run').isEnabled()).toBe(true);

      await page.locator('#switch-llm summary').click();
      await page.locator('#llm-model').fill('console-switched');
      await page.locator('#llm-base-url').fill(llm.baseUrl);
      await page.locator('#llm-api-key').fill('scripted-key');
      await page.locator('#llm-form button[type=submit]').click();
      await page.locator('.event.agent-change', { hasText: 'now console-switched' }).waitFor();
      expect(await page.locator('#llm-api-key').inputValue()).toBe('');
      await page.locator('#run').click();
      await page.getByText('Finished with the new model.').waitFor();
      await page.locator('#status', { hasText: /^finished$/ }).waitFor();
      expect(llm.requests.at(-1)?.model).toBe('console-switched');

      // Fork from the user's message: a new conversation holding the history up to it.
      const userRow = page.locator('.event.user', { hasText: 'Count the steps.' });
      await userRow.hover();
      await userRow.getByRole('button', { name: 'Fork from this event' }).click();
      await page.waitForURL((url) => url.hash.length > 1 && url.hash !== `#${created.id}`);
      const forkId = new URL(page.url()).hash.slice(1);
      await page.locator('#conversation-id', { hasText: forkId }).waitFor();
      await page.locator('.event.user', { hasText: 'Count the steps.' }).waitFor();
      expect(await page.locator('pre.output', { hasText: 'step 1' }).count()).toBe(0);
      await page.locator(`#conversations a[href="#${forkId}"]`).waitFor();
      await page.locator(`#conversations a[href="#${created.id}"]`).waitFor();
    } finally {
      openGate();
      await browser.close();
    }
  });

  it('interrupts a command that is still running: it stops at once and the run waits', async (context) => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('terminal', { command: 'sleep 60; echo woke-up', summary: 'a long wait' }),
        text('Should not be asked.'),
      ],
    });
    await using server = await serverIn(dir.path);
    const created = await callApi<{ id: string }>(server.url, API_KEY, '/api/conversations', {
      agent: scriptedAgent('console-interrupt', llm.baseUrl),
      title: 'A long command',
    });

    const browser = await launchChromium();
    try {
      const page = await openConsole(browser, {
        url: server.url,
        apiKey: API_KEY,
        conversationId: created.id,
      });
      await page.locator('#status', { hasText: /^idle$/ }).waitFor();
      await page.locator('#message').fill('Wait a minute.');
      await page.locator('#message').press('Control+Enter');
      await page.locator('.event', { hasText: 'a long wait' }).first().waitFor();
      await page.locator('#status', { hasText: /^running$/ }).waitFor();
      expect(await page.locator('#interrupt').isEnabled()).toBe(true);

      await page.locator('#interrupt').click();
      await page.locator('#status', { hasText: /^paused$/ }).waitFor();
      await page.getByText('The action was interrupted by the user before it finished.').waitFor();
      // The command never finished its minute, and the agent was not asked again.
      expect(llm.requests).toHaveLength(1);
      expect(await page.locator('pre.output', { hasText: /^woke-up$/m }).count()).toBe(0);
      expect(await page.locator('#interrupt').isEnabled()).toBe(false);
      expect(await page.locator('#run').isEnabled()).toBe(true);
      await screenshot(page, context, 'console-interrupted');
    } finally {
      await browser.close();
    }
  });
});
