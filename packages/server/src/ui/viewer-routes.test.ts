import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server';

describe('conversation viewer', () => {
  it('serves the page without a key, while the API it reads still needs one', async () => {
    await using dir = await createTemporaryDirectory();
    await using server = await startServer({
      port: 0,
      dataDir: dir.path,
      apiKey: 'viewer-test-key',
    });
    const page = await fetch(`${server.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Session API key');
    expect(html).toContain('/sockets/events/');
    expect(html).not.toContain('viewer-test-key');
    expect((await fetch(`${server.url}/api/conversations/search`)).status).toBe(401);
  });
});
