import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The OpenHands agent-server release whose routes the table lists. */
export const REFERENCE_TARBALL = 'openhands-agent-server-1.43.1.tgz';

/** One route of the reference server: `GET /api/git/diff`, `WS /sockets/events/{conversation_id}`. */
export interface ReferenceRoute {
  method: string;
  path: string;
  /** The router file that declares it, relative to the package. */
  file: string;
}

/**
 * Where the reference tarball is: `$FERRY_REFERENCE_DIR`, else `shared/reference` beside the
 * clone (CI) or at `/work/shared/reference`. Throws when it is in none of them.
 */
export function findReferenceTarball(repositoryRoot: string): string {
  const candidates = [
    process.env.FERRY_REFERENCE_DIR,
    resolve(repositoryRoot, '../shared/reference'),
    '/work/shared/reference',
  ].filter((candidate): candidate is string => candidate !== undefined);
  for (const directory of candidates) {
    const tarball = join(directory, REFERENCE_TARBALL);
    if (existsSync(tarball)) return tarball;
  }
  throw new Error(
    `${REFERENCE_TARBALL} not found in ${candidates.join(', ')}; set FERRY_REFERENCE_DIR.`,
  );
}

/**
 * Every HTTP and WebSocket route the reference agent-server declares, read from its FastAPI
 * routers: each `APIRouter(prefix=...)`, the `include_router` chain of `api.py` that mounts
 * them, and their `@router.<method>("path")` decorators.
 */
export async function readReferenceRoutes(tarball: string): Promise<ReferenceRoute[]> {
  const folder = await mkdtemp(join(tmpdir(), 'ferry-reference-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', folder]);
    const server = join(folder, 'openhands-agent-server/openhands/agent_server');
    const files = await pythonFiles(server);
    const sources = new Map<string, string>();
    for (const file of files) sources.set(relative(server, file), await readFile(file, 'utf8'));
    return routesOf(sources);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function pythonFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await pythonFiles(path)));
    else if (entry.name.endsWith('.py')) found.push(path);
  }
  return found.sort();
}

const ROUTER_DEFINITION = /^\s*(\w+)\s*=\s*APIRouter\(([^)]*)\)/gm;
/** `@router.get("/path"` or `@router.get(PATH_CONSTANT`. */
const DECORATOR = /@(\w+)\.(get|post|put|patch|delete|websocket)\(\s*(?:"([^"]*)"|([A-Z_]+)\b)/g;
const CONSTANT = /^([A-Z_]+)\s*=\s*"([^"]*)"/gm;
const APP_ROUTE = /\bapp\.(get|post|put|patch|delete|websocket)\(\s*"([^"]*)"/g;
const INCLUDE = /\b(\w+)\.include_router\(\s*(\w+)/g;
const IMPORT_ALIAS = /\b(\w+) as (\w+)/g;

/** The routes of the router sources, keyed by their path inside `agent_server/`. */
export function routesOf(sources: ReadonlyMap<string, string>): ReferenceRoute[] {
  const prefixes = new Map<string, string>();
  const api = sources.get('api.py') ?? '';
  for (const [file, source] of sources) {
    for (const match of source.matchAll(ROUTER_DEFINITION)) {
      const name = match[1] ?? '';
      const prefix = /prefix\s*=\s*"([^"]*)"/.exec(match[2] ?? '')?.[1] ?? '';
      // api.py builds its grouping routers under the same names in every group.
      prefixes.set(file === 'api.py' ? name : `${file}:${name}`, prefix);
    }
  }
  // `router as credential_binding_router`: the name api.py mounts, back to its definition.
  const aliases = new Map<string, string>();
  for (const match of api.matchAll(IMPORT_ALIAS)) aliases.set(match[2] ?? '', match[1] ?? '');
  const parentOf = new Map<string, string>();
  for (const match of api.matchAll(INCLUDE)) parentOf.set(match[2] ?? '', match[1] ?? '');

  /** The full prefix of a router mounted in api.py under `mountedAs`. */
  const mountPrefix = (mountedAs: string): string => {
    let prefix = '';
    for (let parent = parentOf.get(mountedAs); parent !== undefined && parent !== 'app';) {
      prefix = (prefixes.get(parent) ?? '') + prefix;
      parent = parentOf.get(parent);
    }
    return prefix;
  };

  const routes: ReferenceRoute[] = [];
  for (const [file, source] of sources) {
    const constants = new Map<string, string>();
    for (const match of source.matchAll(CONSTANT)) constants.set(match[1] ?? '', match[2] ?? '');
    for (const match of source.matchAll(DECORATOR)) {
      const variable = match[1] ?? '';
      const ownPrefix = prefixes.get(`${file}:${variable}`);
      if (ownPrefix === undefined) continue;
      const mountedAs = [...parentOf.keys()].find(
        (name) => name === variable || aliases.get(name) === variable,
      );
      if (mountedAs === undefined) continue;
      routes.push({
        method: methodName(match[2] ?? ''),
        path:
          mountPrefix(mountedAs) + ownPrefix + (match[3] ?? constants.get(match[4] ?? '') ?? ''),
        file,
      });
    }
  }
  for (const match of api.matchAll(APP_ROUTE)) {
    routes.push({ method: methodName(match[1] ?? ''), path: match[2] ?? '', file: 'api.py' });
  }
  const unique = new Map(routes.map((route) => [routeKey(route), route]));
  return [...unique.values()].sort((a, b) =>
    a.path === b.path ? a.method.localeCompare(b.method) : a.path.localeCompare(b.path),
  );
}

function methodName(decorator: string): string {
  return decorator === 'websocket' ? 'WS' : decorator.toUpperCase();
}

/** `GET /api/git/diff`: how a route is written in the table. */
export function routeKey(route: { method: string; path: string }): string {
  return `${route.method} ${route.path}`;
}
