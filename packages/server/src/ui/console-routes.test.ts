import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server';

describe('Ferry console', () => {
  it('serves the page without a key, while the API it reads and acts through still needs one', async () => {
    await using dir = await createTemporaryDirectory();
    await using server = await startServer({
      port: 0,
      dataDir: dir.path,
      apiKey: 'console-test-key',
    });
    const page = await fetch(`${server.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).toContain('Session API key');
    expect(html).toContain('/sockets/events/');
    expect(html).not.toContain('console-test-key');
    // Nothing is loaded from elsewhere.
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
    expect((await fetch(`${server.url}/api/console`)).status).toBe(401);
    const info = await fetch(`${server.url}/api/console`, {
      headers: { 'X-Session-API-Key': 'console-test-key' },
    });
    expect(await info.json()).toEqual({ mode: 'server', read_only: false });
    expect((await fetch(`${server.url}/api/conversations/search`)).status).toBe(401);
  });
});
