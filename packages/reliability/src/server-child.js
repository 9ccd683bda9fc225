// A Ferry server in its own process, for the server-faults test: run inside a private mount
// namespace whose bind mount of the data folder the test turns read-only and back.
// argv: <dataDir>. Prints `LISTENING <url>`; SIGTERM closes the server and exits 0.
import process from 'node:process';
import { startServer } from '@ferry/server';

const [dataDir] = process.argv.slice(2);
const server = await startServer({ port: 0, dataDir });
process.stdout.write(`LISTENING ${server.url}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(
        `close failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
});
