import { Command, InvalidArgumentError } from 'commander';
import { startConsole } from './console/start-console';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535 (0 picks a free port)');
  }
  return port;
}

const program = new Command()
  .name('ferry-console')
  .description(
    'Serve the Ferry console over a local persistence folder (read-only): browse what your ' +
      'agents did, and watch running conversations live.',
  )
  .argument('[folder]', 'the persistenceDir your conversations are written to', './.ferry')
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .option('--port <port>', 'port to bind, 0 for a free one', parsePort, 0)
  .option(
    '--api-key <key>',
    'ask for this key (env FERRY_CONSOLE_API_KEY); needed when --host is not loopback',
  )
  .addHelpText(
    'after',
    [
      '',
      'The console never writes to the folder and takes no lock, so it can watch a conversation',
      'another process is running. Open the printed URL in a browser; Ctrl+C stops it.',
      '',
    ].join('\n'),
  );

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{ host: string; port: number; apiKey?: string }>();
  const folder = program.processedArgs[0] as string;
  const apiKey = options.apiKey ?? process.env.FERRY_CONSOLE_API_KEY;
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(options.host);
  if (!loopback && (apiKey === undefined || apiKey === '')) {
    throw new Error(`refusing to serve ${folder} on ${options.host} without --api-key`);
  }
  const server = await startConsole({
    persistenceDir: folder,
    host: options.host,
    port: options.port,
    ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
  });
  process.stdout.write(`ferry-console: ${server.persistenceDir} at ${server.url}/ui/\n`);
  const shutdown = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `ferry-console: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
