/**
 * The conversation viewer in a real browser: Debian's Chromium driven by playwright-core,
 * against a real server holding a teleported conversation while a run is in progress there.
 * It lives in the demo app because it needs the server and `teleport` from workspace-remote,
 * and workspace-remote's own tests already depend on the server.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { LocalConversation, type AgentInput } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
} from '@ferry/sdk-core/testing';
import { startServer } from '@ferry/server';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../test-artifacts/viewer.png', import.meta.url));
const API_KEY = 'viewer-browser-test-key';
const LOCAL_MODEL = 'viewer-local';
const REMOTE_MODEL = 'viewer-remote';

// Without the background-networking flags Chromium keeps dialling out on this closed network.
// Playwright gives every launch a fresh, empty profile folder of its own.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function agent(model: string, baseUrl: string): AgentInput {
  return {
    llm: { model, base_url: baseUrl, api_key: 'scripted-key', usage_id: model },
    tools: [{ name: 'terminal' }],
  };
}

describe('conversation viewer in Chromium', () => {
  it.skipIf(!existsSync(CHROMIUM))(
    `shows a teleported conversation live, in LOCAL and REMOTE bands (needs ${CHROMIUM}: apt-get install -y chromium)`,
    async () => {
      await using dir = await createTemporaryDirectory();
      const folders = {
        conversations: join(dir.path, 'conversations'),
        local: join(dir.path, 'local-workspace'),
        serverData: join(dir.path, 'server-data'),
        serverWorkspaces: join(dir.path, 'server-workspaces'),
      };
      for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });

      // The remote run's second turn waits until the page is open and has drawn what came
      // before, so the page sees the rest arrive while the run is in progress.
      let openGate = () => {};
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      await using llm = await startScriptedLLMServer({
        respond: async (request): Promise<ScriptTurn> => {
          const step = request.messages.filter((message) => message.role === 'tool').length;
          if (request.model === LOCAL_MODEL) {
            return step === 0
              ? toolCall('terminal', { command: 'echo made locally', summary: 'say hello here' })
              : text('Done here; the server goes on.');
          }
          switch (step) {
            case 1:
              return toolCall('terminal', {
                command: 'echo on the server',
                summary: 'look around',
              });
            case 2:
              await gate;
              return toolCall(
                'terminal',
                { command: 'echo after the page opened', summary: 'the slow step' },
                { delayMs: 300 },
              );
            default:
              return text('All done on the server.');
          }
        },
      });
      await using server = await startServer({
        host: '127.0.0.1',
        port: 0,
        dataDir: folders.serverData,
        workspaceRoot: folders.serverWorkspaces,
        apiKey: API_KEY,
      });

      const workspace = new LocalWorkspace({ workingDir: folders.local });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const conversation = await LocalConversation.open({
          agent: agent(LOCAL_MODEL, llm.baseUrl),
          workspace,
          persistenceDir: folders.conversations,
          title: 'Viewer browser test',
        });
        await conversation.sendMessage('Say hello here, then let the server go on.');
        expect(await conversation.run()).toBe('finished');

        const onServer = await teleport(conversation, {
          to: new RemoteWorkspace({
            host: server.url,
            apiKey: API_KEY,
            workingDir: join(folders.serverWorkspaces, 'viewer'),
          }),
          agent: agent(REMOTE_MODEL, llm.baseUrl),
        });
        await onServer.sendMessage('Go on on the server.');
        const remoteRun = onServer.run();
        // Two local requests, then the remote agent's first turn and the gated second one.
        await llm.waitForRequest(4);

        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${server.url}/ui/#${onServer.id}`);
        await page.locator('#api-key').fill(API_KEY);
        await page.locator('#login-form button[type=submit]').click();

        const bands = page.locator('#timeline .band');
        const events = page.locator('#timeline .event');
        await bands.nth(1).locator('details summary', { hasText: 'look around' }).waitFor();
        await page.locator('#status', { hasText: /^running$/ }).waitFor();
        const eventsBeforeRelease = await events.count();
        expect(await page.getByText('after the page opened').count()).toBe(0);

        openGate();
        await bands
          .nth(1)
          .locator('pre.output', { hasText: 'after the page opened' })
          .waitFor({ state: 'attached' });
        await bands.nth(1).getByText('All done on the server.').waitFor();
        await page.locator('#status', { hasText: /^finished$/ }).waitFor();
        expect(await remoteRun).toBe('finished');
        expect(await events.count()).toBeGreaterThan(eventsBeforeRelease);
        expect(await page.locator('#status').textContent()).toBe('finished');
        expect(await page.locator(`[data-status-of="${onServer.id}"]`).textContent()).toBe(
          'finished',
        );

        // One band per place, named by where each stretch ran.
        expect(await bands.count()).toBe(2);
        expect(await bands.locator('h3.place').allTextContents()).toEqual([
          'Ran LOCAL',
          'Ran REMOTE',
        ]);
        expect(await bands.nth(1).locator('h3.place').getAttribute('title')).toBe(server.url);
        // The local stretch holds its action and output; the remote one the hop and new agent.
        const localBand = bands.nth(0);
        expect(await localBand.locator('details summary').first().textContent()).toContain(
          'terminal say hello here',
        );
        expect(await localBand.locator('pre.output').first().textContent()).toContain(
          'made locally',
        );
        expect(await bands.nth(1).locator('.event.teleport').count()).toBe(1);
        expect(await bands.nth(1).locator('.event.agent-change').textContent()).toContain(
          REMOTE_MODEL,
        );
        expect(await page.locator('#stats').textContent()).toContain(REMOTE_MODEL);

        for (const summary of await page.locator('details > summary').all()) await summary.click();
        await mkdir(join(SCREENSHOT, '..'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        await onServer.close();
      } finally {
        openGate();
        await browser.close();
        await workspace.close();
      }
    },
  );
});
