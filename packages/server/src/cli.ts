import { Command, InvalidArgumentError } from 'commander';
import { delimiter } from 'node:path';
import { startServer, type StartServerOptions } from './server';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535 (0 picks a free port)');
  }
  return port;
}

function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  const proxies = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (proxies.length === 0) {
    throw new InvalidArgumentError('expected true, a number of hops, or proxy addresses/CIDRs');
  }
  return proxies;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError('expected a positive number of seconds');
  }
  return seconds;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1)
    throw new InvalidArgumentError('expected a whole number above 0');
  return count;
}

/** `--sandbox` / `FERRY_SANDBOX`: on, off, or on without network. */
function parseSandbox(value: string): boolean | { network: false } {
  const normalized = value.trim().toLowerCase();
  if (['', '0', 'false', 'off', 'no'].includes(normalized)) return false;
  if (['1', 'true', 'on', 'yes'].includes(normalized)) return true;
  if (normalized === 'no-network') return { network: false };
  throw new InvalidArgumentError('expected on, off or no-network');
}

const program = new Command()
  .name('ferry-server')
  .description('Run a Ferry agent server (OpenHands agent-server protocol core).')
  .option(
    '--host <host>',
    'interface to bind (env FERRY_HOST)',
    process.env.FERRY_HOST ?? '127.0.0.1',
  )
  .option(
    '--port <port>',
    'port to bind, 0 for a free one (env FERRY_PORT)',
    parsePort,
    parsePort(process.env.FERRY_PORT ?? '8000'),
  )
  .option(
    '--data-dir <dir>',
    'where conversations are kept (env FERRY_DATA_DIR)',
    process.env.FERRY_DATA_DIR ?? './ferry-data',
  )
  .option(
    '--workspace-root <dir>',
    'where workspaces live (env FERRY_WORKSPACE_ROOT)',
    process.env.FERRY_WORKSPACE_ROOT,
  )
  .option(
    '--api-key <key...>',
    'accepted X-Session-API-Key value(s) (env FERRY_API_KEY, comma-separated); none means no auth',
  )
  .option(
    '--secret-key <key>',
    'key that encrypts persisted secrets (env FERRY_SECRET_KEY); without it they are redacted on disk',
  )
  .option(
    '--idle-timeout <seconds>',
    'close conversations unused for this long (env FERRY_IDLE_TIMEOUT)',
    parseSeconds,
    parseSeconds(process.env.FERRY_IDLE_TIMEOUT ?? '600'),
  )
  .option(
    '--trust-proxy <proxies>',
    'behind a reverse proxy: trust X-Forwarded-For from these addresses/CIDRs (comma-separated), ' +
      'a number of hops, or true for any (env FERRY_TRUST_PROXY)',
    parseTrustProxy,
    process.env.FERRY_TRUST_PROXY === undefined || process.env.FERRY_TRUST_PROXY === ''
      ? undefined
      : parseTrustProxy(process.env.FERRY_TRUST_PROXY),
  )
  .option(
    '--sandbox [mode]',
    'run every conversation (and the /bash, /file, /git routes) in a bubblewrap sandbox; ' +
      'mode no-network also cuts the network (env FERRY_SANDBOX: on, off or no-network)',
    parseSandbox,
    parseSandbox(process.env.FERRY_SANDBOX ?? ''),
  )
  .option(
    '--sandbox-max-processes <count>',
    'with --sandbox: most processes one sandboxed command may run at once, so a fork bomb ' +
      'stops there (default 1024; env FERRY_SANDBOX_MAX_PROCESSES)',
    parseCount,
    process.env.FERRY_SANDBOX_MAX_PROCESSES === undefined ||
      process.env.FERRY_SANDBOX_MAX_PROCESSES === ''
      ? undefined
      : parseCount(process.env.FERRY_SANDBOX_MAX_PROCESSES),
  )
  .option(
    '--database-url <url>',
    'keep conversations in PostgreSQL; servers with the same URL form a cluster (env FERRY_DATABASE_URL)',
    process.env.FERRY_DATABASE_URL === '' ? undefined : process.env.FERRY_DATABASE_URL,
  )
  .option(
    '--lease-ttl <seconds>',
    'with --database-url: how long a replica holds a conversation unless renewed (env FERRY_LEASE_TTL)',
    parseSeconds,
    parseSeconds(process.env.FERRY_LEASE_TTL ?? '15'),
  )
  .option(
    '--advertise-url <url>',
    'with --database-url: the URL other replicas reach this one at (env FERRY_ADVERTISE_URL; default the listen URL)',
    process.env.FERRY_ADVERTISE_URL === '' ? undefined : process.env.FERRY_ADVERTISE_URL,
  )
  .option(
    '--no-continue-runs',
    'after a restart or a replica failure, record interrupted runs as error instead of continuing them',
  )
  .option(
    '--skills-dir <dir...>',
    'user skill folders that POST /api/skills lists, most important first (env FERRY_SKILLS_DIR, ' +
      `separated by "${delimiter}"); none by default. OpenHands reads ~/.agents/skills, ` +
      '~/.openhands/skills and ~/.openhands/microagents',
    process.env.FERRY_SKILLS_DIR?.split(delimiter).filter(Boolean),
  )
  .option('--log', 'log every request (keys are redacted)')
  .addHelpText(
    'after',
    [
      '',
      'Conversations live in <data-dir>/conversations/<id without dashes>/ (or, with --database-url,',
      'in PostgreSQL); each works in a folder under --workspace-root, which every replica of a',
      'cluster must see. Docs: <url>/docs, OpenAPI: <url>/openapi.json.',
      '',
      'Prefer FERRY_API_KEY and FERRY_SECRET_KEY over the flags, so keys do not show in the',
      'process list. SIGINT/SIGTERM interrupt running conversations, flush them and exit 0.',
      '',
    ].join('\n'),
  );

interface CliOptions {
  host: string;
  port: number;
  dataDir: string;
  workspaceRoot?: string;
  apiKey?: string[];
  secretKey?: string;
  idleTimeout: number;
  trustProxy?: boolean | number | string[];
  sandbox: boolean | { network: false };
  sandboxMaxProcesses?: number;
  databaseUrl?: string;
  leaseTtl: number;
  advertiseUrl?: string;
  continueRuns: boolean;
  skillsDir?: string[];
  log?: boolean;
}

/** What `startServer` gets for `sandbox` from the sandbox flags. */
function sandboxOptions(options: CliOptions): StartServerOptions['sandbox'] {
  const { sandbox, sandboxMaxProcesses } = options;
  if (sandbox === false || sandboxMaxProcesses === undefined) return sandbox;
  return { ...(sandbox === true ? {} : sandbox), maxProcesses: sandboxMaxProcesses };
}

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<CliOptions>();
  const apiKey = options.apiKey ?? process.env.FERRY_API_KEY?.split(',').filter(Boolean);
  const secretKey = options.secretKey ?? process.env.FERRY_SECRET_KEY;
  const server = await startServer({
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
    ...(options.workspaceRoot === undefined ? {} : { workspaceRoot: options.workspaceRoot }),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(secretKey === undefined || secretKey === '' ? {} : { secretKey }),
    idleTimeout: options.idleTimeout,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    // A cluster replica logs warnings (takeovers, lost leases) even without --log.
    logger: options.log ?? (options.databaseUrl === undefined ? false : { level: 'warn' }),
    sandbox: sandboxOptions(options),
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.advertiseUrl === undefined ? {} : { advertiseUrl: options.advertiseUrl }),
    leaseTtl: options.leaseTtl,
    continueRuns: options.continueRuns && process.env.FERRY_CONTINUE_RUNS !== 'false',
    ...(options.skillsDir === undefined ? {} : { skillsDir: options.skillsDir }),
  });
  process.stdout.write(`ferry-server listening on ${server.url}\n`);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`ferry-server: ${signal} received, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`ferry-server: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`ferry-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
