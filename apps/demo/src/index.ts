/**
 * The Ferry demo: one conversation that runs locally, teleports to a Ferry server where a
 * different agent continues it, and teleports back to finish locally.
 */
import { startServer } from '@ferry/server';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { RemoteWorkspace } from '@ferry/workspace-remote';

const steps = [
  'LOCAL   the agent writes a small program with file_editor and runs it with terminal',
  'HOP     the conversation teleports to a ferry-server (same id, whole history)',
  'REMOTE  a different agent (another model, another system-message suffix) finds and fixes a bug',
  'HOP     the conversation teleports back',
  'LOCAL   the agent finishes; a summary shows events, steps per side, tokens and time',
];

async function main(): Promise<void> {
  process.stdout.write('Ferry demo: a conversation that travels\n\n');
  await using dir = await createTemporaryDirectory({ prefix: 'ferry-demo-' });
  await using server = await startServer({ port: 0, dataDir: dir.path });
  const info = await new RemoteWorkspace({ host: server.url, workingDir: '/' }).serverInfo();
  process.stdout.write(
    `A ${info.name} is up at ${server.url}.\n\nThe full story, once the agent loop lands:\n`,
  );
  for (const step of steps) process.stdout.write(`  ${step}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
