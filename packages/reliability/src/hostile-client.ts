import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

/** What the server answered. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body as JSON, or `undefined` when it is not JSON. */
  json: unknown;
}

/** A request to send; `localAddress` picks the loopback address it comes from (`127.0.0.x`). */
export interface HttpAttempt {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  localAddress?: string;
}

// One keep-alive pool for every request of a test file (node keys it by local address too).
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/**
 * Sends one request to `baseUrl` with node's own HTTP client, so a test can choose the client's
 * source address (every `127.0.0.0/8` address is loopback on Linux): that is how a test plays
 * several clients against a per-client limit.
 */
export function httpRequest(baseUrl: string, attempt: HttpAttempt): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = attempt.body === undefined ? undefined : Buffer.from(attempt.body);
    const outgoing = request(
      new URL(attempt.path, baseUrl),
      {
        method: attempt.method,
        agent,
        headers: {
          ...attempt.headers,
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
        ...(attempt.localAddress === undefined ? {} : { localAddress: attempt.localAddress }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const data = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(data.toString('utf8')) as unknown;
          } catch {
            json = undefined;
          }
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: data,
            json,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The `code` of a Ferry error answer, if it is one. */
/** A request with an API key, and a JSON body when one is given. */
export function apiRequest(
  baseUrl: string,
  apiKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpAnswer> {
  return httpRequest(baseUrl, {
    method,
    path,
    headers: {
      'x-session-api-key': apiKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export function errorCode(answer: HttpAnswer): unknown {
  return (answer.json as { code?: unknown } | undefined)?.code;
}

/** Every file, folder and link under `roots`, with a hash of each file's bytes. */
export async function diskState(roots: readonly string[]): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const base of roots) {
    for (const entry of await readdir(base, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      state[path] = entry.isFile()
        ? createHash('sha256')
            .update(await readFile(path))
            .digest('hex')
        : entry.isSymbolicLink()
          ? 'symlink'
          : 'dir';
    }
  }
  return state;
}

/** Every file under `root` with its bytes, for scans of what was written. */
export async function filesUnder(root: string): Promise<{ path: string; data: Buffer }[]> {
  const files: { path: string; data: Buffer }[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path, data: await readFile(path) });
  }
  return files;
}
