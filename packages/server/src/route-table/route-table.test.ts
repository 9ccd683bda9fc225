import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server';
import { findReferenceTarball, readReferenceRoutes, routeKey } from './reference-routes';

const packageRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const repositoryRoot = resolve(packageRoot, '../..');

const TABLE_HEADING = '## OpenHands route table';
const STATUSES = new Set(['served', 'differs', 'not served']);

interface TableRow {
  route: string;
  status: string;
  why: string;
}

/** The rows of the README's route table: `| \`GET /path\` | served | why |`. */
async function readTable(): Promise<TableRow[]> {
  const readme = await readFile(join(packageRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(TABLE_HEADING);
  if (start < 0) throw new Error(`README.md has no "${TABLE_HEADING}" section`);
  const next = readme.indexOf('\n## ', start + TABLE_HEADING.length);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const rows: TableRow[] = [];
  for (const line of section.split('\n')) {
    const cells = /^\|\s*`([A-Z]+ [^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (cells !== null)
      rows.push({ route: cells[1] ?? '', status: cells[2] ?? '', why: cells[3] ?? '' });
  }
  return rows;
}

/** A concrete URL of a route pattern, with `{param}` filled in. */
function sampleUrl(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_whole, name: string) =>
    name.endsWith('id') ? '0123456789abcdef0123456789abcdef' : 'sample',
  );
}

describe('the OpenHands route table in the server README', () => {
  it('has one row for every route of the reference agent-server, and no other', async () => {
    const reference = await readReferenceRoutes(findReferenceTarball(repositoryRoot));
    // The release this table was written for declares well over a hundred routes; a parser
    // that found a handful would make the comparison below meaningless.
    expect(reference.length).toBeGreaterThan(120);
    const rows = await readTable();
    const listed = new Set(rows.map((row) => row.route));
    const expected = new Set(reference.map(routeKey));
    const missing = reference
      .filter((route) => !listed.has(routeKey(route)))
      .map((route) => `| \`${routeKey(route)}\` | not served | (${route.file}) |`);
    expect(missing, `rows to add to ${TABLE_HEADING}:\n${missing.join('\n')}`).toEqual([]);
    expect(rows.filter((row) => !expected.has(row.route)).map((row) => row.route)).toEqual([]);
    expect(rows.filter((row) => !STATUSES.has(row.status))).toEqual([]);
    expect(rows.filter((row) => row.status !== 'served' && row.why === '')).toEqual([]);
    expect(new Set(rows.map((row) => row.route)).size).toBe(rows.length);
  });

  it('says served or differs only for routes Ferry answers, and not served only for others', async () => {
    const directory = await createTemporaryDirectory();
    const server = await startServer({ port: 0, dataDir: join(directory.path, 'data') });
    try {
      const wrong: string[] = [];
      for (const row of await readTable()) {
        const [method = 'GET', path = '/'] = row.route.split(' ');
        const response = await server.app.inject({
          method: (method === 'WS' ? 'GET' : method) as 'GET',
          url: sampleUrl(path),
          ...(method === 'WS' ? {} : { payload: {} }),
        });
        const answered = !(
          response.statusCode === 404 && response.body.includes('"ROUTE_NOT_FOUND"')
        );
        if (answered !== (row.status !== 'not served')) wrong.push(`${row.route}: ${row.status}`);
      }
      expect(wrong).toEqual([]);
    } finally {
      await server.close();
      await directory.remove();
    }
  });
});
