import type { Database } from './database';
import { SQL } from './sql';

/** The text of the named document, or `undefined` when none was written. */
export async function readDocument(database: Database, name: string): Promise<string | undefined> {
  const { rows } = await database.query<{ content: string }>(
    `reading the document ${name}`,
    SQL.documentRead,
    [name],
  );
  return rows[0]?.content;
}

/**
 * Replaces the named document with what `change` makes of its current text, in one transaction
 * that holds the document's lock: updates from any number of processes apply one after the
 * other, none lost. When `change` throws, nothing is written and the error reaches the caller.
 */
export async function updateDocument(
  database: Database,
  name: string,
  change: (current: string | undefined) => string,
): Promise<void> {
  await database.transaction(`updating the document ${name}`, async (client) => {
    await client.query(SQL.documentLock, [name]);
    const { rows } = await client.query<{ content: string }>(SQL.documentRead, [name]);
    await client.query(SQL.documentWrite, [name, change(rows[0]?.content)]);
  });
}
