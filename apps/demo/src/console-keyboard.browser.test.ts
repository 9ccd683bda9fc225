/**
 * The console with the keyboard alone, in Debian's Chromium: Tab reaches the conversation list
 * and the message box in order, each focused control shows its outline, Enter opens a
 * conversation and sends a message whose run finishes on the page. No click anywhere.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createTemporaryDirectory, startScriptedLLMServer, text } from '@ferry/sdk-core/testing';
import { startServer } from '@ferry/server';
import {
  callApi,
  launchChromium,
  openConsole,
  screenshot,
  scriptedAgent,
} from './console-test-support';

const API_KEY = 'console-keyboard-test-key';

/** What the focused element is, as this test names controls. */
interface Focused {
  /** `#id`, or `a[href="…"]` for a link, or the tag name. */
  name: string;
  /** Its computed outline style (`none` when focus would be invisible). */
  outline: string;
}

/** The part of the browser's `document` and `window` the page functions read. */
interface BrowserGlobals {
  document: {
    activeElement: { id: string; tagName: string; getAttribute(name: string): string | null };
  };
  getComputedStyle(element: unknown): { outlineStyle: string };
}

async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const browser = globalThis as unknown as BrowserGlobals;
    const element = browser.document.activeElement;
    const href = element.getAttribute('href');
    const name =
      element.id !== ''
        ? `#${element.id}`
        : href !== null
          ? `a[href="${href}"]`
          : element.tagName.toLowerCase();
    return { name, outline: browser.getComputedStyle(element).outlineStyle };
  });
}

/**
 * Presses Tab until `name` has the focus (at most `limit` presses); returns every control the
 * focus visited on the way, in order. Each must show its focus outline.
 */
async function tabTo(page: Page, name: string, limit = 40): Promise<string[]> {
  const visited: string[] = [];
  for (let press = 0; press < limit; press += 1) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    visited.push(now.name);
    expect(now.outline, `${now.name} shows no focus outline`).not.toBe('none');
    if (now.name === name) return visited;
  }
  throw new Error(`Tab never reached ${name} in ${limit} presses: ${visited.join(', ')}`);
}

describe('Ferry console in Chromium: the keyboard alone', () => {
  it('opens a conversation from the list and sends a message that runs, with Tab and Enter only', async (context) => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      respond: () => text('Answered a keyboard user.'),
    });
    const dataDir = join(dir.path, 'server-data');
    await mkdir(dataDir, { recursive: true });
    await using server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      apiKey: API_KEY,
    });
    for (const title of ['First conversation', 'Second conversation']) {
      await callApi(server.url, API_KEY, '/api/conversations', {
        agent: scriptedAgent('console-keyboard', llm.baseUrl),
        title,
      });
    }
    const conversations = await callApi<{ items: { id: string; title: string }[] }>(
      server.url,
      API_KEY,
      '/api/conversations/search',
    );
    const second = conversations.items.find((item) => item.title === 'Second conversation');
    if (second === undefined) throw new Error('the second conversation is not listed');

    const browser = await launchChromium();
    try {
      const page = await openConsole(browser, { url: server.url, apiKey: API_KEY });
      const link = `a[href="#${second.id}"]`;
      await page.locator(`#conversations ${link}`).waitFor();

      // The first Tab is the skip link; the conversations come next, in the list's order.
      const toLink = await tabTo(page, link);
      expect(toLink[0]).toBe('a[href="#main"]');
      await page.keyboard.press('Enter');
      await page.locator('#title', { hasText: 'Second conversation' }).waitFor();

      const toMessage = await tabTo(page, '#message');
      // From the list, the message box is reached without passing through anything hidden.
      expect(toMessage.every((name) => name !== '#accept' && name !== '#reject')).toBe(true);
      await page.keyboard.type('Hello from the keyboard.');
      await tabTo(page, '#send', 3);
      await page.keyboard.press('Enter');

      await page.getByText('Answered a keyboard user.').waitFor();
      await page.locator('#status', { hasText: /^finished$/ }).waitFor();
      expect(llm.requests).toHaveLength(1);
      const sent = llm.requests[0]?.messages.filter((message) => message.role === 'user').at(-1);
      expect(JSON.stringify(sent)).toContain('Hello from the keyboard.');
      // Shift+Tab goes back where it came from: no trap.
      await page.keyboard.press('Shift+Tab');
      expect((await focused(page)).name).toBe('#message');
      await screenshot(page, context, 'console-keyboard');
    } finally {
      await browser.close();
    }
  });
});
