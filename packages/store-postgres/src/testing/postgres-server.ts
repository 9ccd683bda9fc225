import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The URL tests use when `FERRY_TEST_DATABASE_URL` is not set. */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A PostgreSQL server for tests: the configured one, or a throwaway one started for them. */
export interface TestPostgresServer {
  /** A superuser URL of the server (database `postgres`). */
  url: string;
  /** Whether this server was started for the tests (and `stop()` removes it). */
  throwaway: boolean;
  /** Stops and deletes a throwaway server; does nothing for a configured one. */
  stop(): Promise<void>;
}

/** A throwaway PostgreSQL server of a test's own, which the test may stop and start again. */
export interface ThrowawayPostgresServer extends TestPostgresServer {
  /** Stops the server at once (`pg_ctl stop -m immediate`: like a crash), keeping its data. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data after {@link halt}. */
  resume(): Promise<void>;
}

/** Options of {@link startTestPostgres}. */
export interface StartTestPostgresOptions {
  /** The server to use when it answers (default: `FERRY_TEST_DATABASE_URL`, else the local default). */
  url?: string;
  /** Folder with `initdb`, `pg_ctl` and `postgres` (default: `FERRY_POSTGRES_BIN`, `pg_config --bindir`, /usr/lib/postgresql/<newest>/bin). */
  binDir?: string;
}

/**
 * The PostgreSQL server tests run against. When the configured URL answers, that server; when
 * nothing listens there (connection refused, no socket), a throwaway server started now from the
 * system's PostgreSQL binaries (as the unprivileged user `nobody` when running as root), on a free
 * port of 127.0.0.1 with trust authentication. Any other failure (a refused login, for instance)
 * is thrown: tests never skip silently.
 */
export async function startTestPostgres(
  options: StartTestPostgresOptions = {},
): Promise<TestPostgresServer> {
  const url = options.url ?? process.env.FERRY_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const problem = await probe(url);
  if (problem === undefined) return { url, throwaway: false, stop: async () => {} };
  if (!['ECONNREFUSED', 'ENOENT'].includes(problem.code ?? '')) {
    throw new Error(`The test database server at ${url} failed: ${problem.message}`, {
      cause: problem,
    });
  }
  return startThrowaway(options.binDir ?? (await findBinDir()));
}

/**
 * Starts a PostgreSQL server of the caller's own from the system's binaries (see
 * {@link startTestPostgres} for where they are found), for tests that stop and restart the
 * database under load without disturbing other tests. `stop()` removes it.
 */
export async function startThrowawayPostgres(
  options: Pick<StartTestPostgresOptions, 'binDir'> = {},
): Promise<ThrowawayPostgresServer> {
  return startThrowaway(options.binDir ?? (await findBinDir()));
}

async function probe(url: string): Promise<(Error & { code?: string }) | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error as Error & { code?: string };
  } finally {
    await client.end().catch(() => {});
  }
}

async function findBinDir(): Promise<string> {
  const candidates: string[] = [];
  if (process.env.FERRY_POSTGRES_BIN !== undefined) candidates.push(process.env.FERRY_POSTGRES_BIN);
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    candidates.push(stdout.trim());
  } catch {
    // no pg_config on PATH
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')));
  if (found === undefined) {
    throw new Error(
      'No PostgreSQL answers at the test database URL and no PostgreSQL binaries (initdb, pg_ctl) ' +
        'were found to start a throwaway server. Install them (Debian: apt-get install postgresql), ' +
        'set FERRY_POSTGRES_BIN to their folder, or point FERRY_TEST_DATABASE_URL at a server.',
    );
  }
  return found;
}

/** uid and gid of `nobody`, who runs the server when this process is root (initdb refuses root). */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return { uid: Number(uid ?? 65534), gid: Number(gid ?? 65534) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startThrowaway(binDir: string): Promise<ThrowawayPostgresServer> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-postgres-'));
  const user = unprivilegedUser();
  if (user !== undefined) await chown(root, user.uid, user.gid);
  await chmod(root, 0o700);
  const dataDir = join(root, 'data');
  const runAs = (command: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(join(binDir, command), args, {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
        env: { ...process.env, LC_ALL: 'C', HOME: root },
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`${command} failed (${code}): ${output}`)),
      );
    });
  try {
    await runAs('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${root}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c max_connections=200',
    ].join(' ');
    const start = () =>
      runAs('pg_ctl', [
        '-D',
        dataDir,
        '-l',
        join(root, 'server.log'),
        '-o',
        settings,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    await start();
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      throwaway: true,
      halt: () => runAs('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']),
      resume: start,
      stop: async () => {
        await runAs('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
