// A Ferry server in its own process for the load test, started with --expose-gc so its memory
// can be measured after a collection. argv[2]: JSON of { dataDir, apiKey, secretKey,
// idleTimeout, databaseUrl? }. Talks over IPC: sends { type: 'listening', url } once it listens; answers
// { type: 'memory' } with { type: 'memory', rss, heapUsed, open } (after two collections when
// `gc` is exposed, `open` being the conversations open in memory); { type: 'stop' } closes the
// server gracefully and exits 0; { type: 'snapshot', path } writes a heap snapshot there (for
// diagnosing what stays in memory) and answers { type: 'snapshot', path }.
import process from 'node:process';
import { writeHeapSnapshot } from 'node:v8';
import { startServer } from '@ferry/server';

const options = JSON.parse(process.argv[2] ?? '{}');
const server = await startServer({
  port: 0,
  dataDir: options.dataDir,
  apiKey: options.apiKey,
  secretKey: options.secretKey,
  idleTimeout: options.idleTimeout,
  // The reliability-postgres project: conversations in PostgreSQL, as with --database-url.
  ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
});
process.send?.({ type: 'listening', url: server.url });

process.on('message', (message) => {
  if (message?.type === 'memory') {
    if (message.gc === true && typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const usage = process.memoryUsage();
    process.send?.({
      type: 'memory',
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      open: server.conversations.openIds.length,
    });
  } else if (message?.type === 'snapshot' && typeof message.path === 'string') {
    // Diagnostics: a heap snapshot after a collection, to see what stays after eviction.
    globalThis.gc?.();
    process.send?.({ type: 'snapshot', path: writeHeapSnapshot(message.path) });
  } else if (message?.type === 'stop') {
    server.close().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  }
});
