/**
 * What the console's browser tests share: Debian's Chromium driven by playwright-core, pages
 * opened with the API key in the URL fragment, screenshots attached to the test's output.
 * The tests live in the demo app because they need the server and `teleport` from
 * workspace-remote, and workspace-remote's own tests already depend on the server.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestContext } from 'vitest';
import type { AgentInput } from '@ferry/sdk-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

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

/** Starts headless Chromium; close it in `finally`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A laptop-sized page on a conversation, the key given in the fragment as a user would. */
export async function openConsole(
  browser: Browser | BrowserContext,
  options: { url: string; apiKey?: string; conversationId?: string },
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  const fragment = new URLSearchParams();
  if (options.apiKey !== undefined) fragment.set('key', options.apiKey);
  if (options.conversationId !== undefined) fragment.set('conversation', options.conversationId);
  await page.goto(`${options.url}/ui/#${fragment.toString()}`);
  return page;
}

/** Saves a full-page screenshot under test-artifacts/ and attaches it to the test's output. */
export async function screenshot(page: Page, context: TestContext, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await context.annotate(`screenshot: ${name}`, { path, contentType: 'image/png' });
  return path;
}

/** An agent on the scripted LLM server, with the terminal and file editor. */
export function scriptedAgent(model: string, baseUrl: string): AgentInput {
  return {
    llm: { model, base_url: baseUrl, api_key: 'scripted-key', usage_id: model },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

/** Calls a Ferry server's API with a key; throws on an error answer. */
export async function callApi<T>(
  url: string,
  apiKey: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'X-Session-API-Key': apiKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}
