import { defineTool } from '@ferry/sdk-core';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { z } from 'zod';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server';

describe('GET /api/tools/', () => {
  it("lists the built-in tools and the server's own", async () => {
    const dir = await createTemporaryDirectory();
    const server = await startServer({
      port: 0,
      dataDir: join(dir.path, 'data'),
      tools: [
        defineTool({
          name: 'lookup',
          description: 'Looks something up.',
          parameters: z.object({}),
          actionKind: 'LookupAction',
          observationKind: 'LookupObservation',
          execute: () => Promise.resolve({ content: 'found' }),
        }),
      ],
    });
    try {
      for (const url of ['/api/tools/', '/api/tools']) {
        const response = await fetch(`${server.url}${url}`);
        expect(response.status).toBe(200);
        const names = (await response.json()) as string[];
        expect(names).toEqual(
          expect.arrayContaining(['terminal', 'file_editor', 'finish', 'lookup']),
        );
      }
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});
