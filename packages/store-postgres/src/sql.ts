/**
 * Every statement a PostgresStore runs, in one place. All values travel as parameters (`$1`...);
 * the only text spliced into SQL is the schema name, checked against a strict pattern first.
 * Table and function names are unqualified: each connection's `search_path` is the store's schema.
 */
export const SQL = {
  /** Serialises migrations of one schema across processes (released with the session). */
  lockMigrations: 'SELECT pg_advisory_lock(hashtext($1))',
  unlockMigrations: 'SELECT pg_advisory_unlock(hashtext($1))',
  createSchema: (schema: string) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`,
  createMigrationsTable: `CREATE TABLE IF NOT EXISTS ferry_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`,
  schemaVersion: 'SELECT coalesce(max(version), 0) AS version FROM ferry_schema_migrations',
  recordMigration: 'INSERT INTO ferry_schema_migrations (version, name) VALUES ($1, $2)',

  acquireLease: 'SELECT * FROM ferry_acquire_lease($1, $2, $3, $4)',
  renewLease: `UPDATE ferry_conversations
      SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
    WHERE id = $1 AND lease_token = $2
    RETURNING lease_expires_at`,
  /** Renews many leases in one statement: ids $1, tokens $2, TTLs (ms) $3; returns those still held. */
  renewLeases: `UPDATE ferry_conversations c
      SET lease_expires_at = clock_timestamp() + held.ttl_ms * interval '1 millisecond'
     FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS held (id, token, ttl_ms)
    WHERE c.id = held.id AND c.lease_token = held.token
    RETURNING c.id, c.lease_token`,
  releaseLease: 'SELECT ferry_release_lease($1, $2)',
  /** The lease of one conversation: its owner record and whether it is still in force. */
  leaseHolder: `SELECT lease_token, lease_owner, lease_expires_at,
      lease_expires_at > clock_timestamp() AS live
    FROM ferry_conversations WHERE id = $1`,
  /** Conversations whose lease is held but expired, with the holders of all held leases. */
  heldLeases: `SELECT id, lease_token, lease_owner, lease_expires_at <= clock_timestamp() AS expired
    FROM ferry_conversations WHERE lease_token IS NOT NULL AND state IS NOT NULL`,
  conversationTimes: 'SELECT created_at, updated_at FROM ferry_conversations WHERE id = $1',
  ping: 'SELECT 1',
  currentLease: 'SELECT lease_token FROM ferry_conversations WHERE id = $1',

  readState: 'SELECT state FROM ferry_conversations WHERE id = $1',
  writeState: 'SELECT * FROM ferry_write_state($1, $2, $3)',
  appendEvents: 'SELECT * FROM ferry_append_events($1, $2, $3, $4, $5)',
  readEvents: `SELECT sequence, document FROM ferry_events
    WHERE conversation_id = $1 AND sequence >= $2
    ORDER BY sequence
    LIMIT $3`,
  eventCount: 'SELECT event_count FROM ferry_conversations WHERE id = $1',
  list: 'SELECT id FROM ferry_conversations WHERE state IS NOT NULL ORDER BY id',
  deleteConversation: 'SELECT * FROM ferry_delete_conversation($1, $2, $3)',

  listen: 'LISTEN ferry_events',

  documentRead: 'SELECT content FROM ferry_documents WHERE name = $1',
  /** Serialises the updates of one document (released when the transaction ends). */
  documentLock: `SELECT pg_advisory_xact_lock(hashtext('ferry-document:' || $1))`,
  documentWrite: `INSERT INTO ferry_documents (name, content) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET content = excluded.content, updated_at = now()`,

  fileRead:
    'SELECT is_directory, content FROM ferry_files WHERE conversation_id = $1 AND path = $2',
  fileSize: `SELECT is_directory, octet_length(content) AS size FROM ferry_files
    WHERE conversation_id = $1 AND path = $2`,
  /** The nearest existing entries among a path's ancestors ($2, text[]): files there block a write. */
  fileEntries: `SELECT path, is_directory FROM ferry_files
    WHERE conversation_id = $1 AND path = ANY ($2)`,
  /** Creates folders ($2 paths, $3 their parents) that do not exist yet. */
  fileMakeFolders: `INSERT INTO ferry_files (conversation_id, path, parent, is_directory)
    SELECT $1, folder.path, folder.parent, true FROM unnest($2::text[], $3::text[]) AS folder (path, parent)
    ON CONFLICT (conversation_id, path) DO NOTHING`,
  fileWrite: `INSERT INTO ferry_files (conversation_id, path, parent, is_directory, content)
    VALUES ($1, $2, $3, false, $4)
    ON CONFLICT (conversation_id, path) DO UPDATE SET content = excluded.content`,
  fileAppend: `INSERT INTO ferry_files (conversation_id, path, parent, is_directory, content)
    VALUES ($1, $2, $3, false, $4)
    ON CONFLICT (conversation_id, path) DO UPDATE SET content = ferry_files.content || excluded.content`,
  fileCreateExclusive: `INSERT INTO ferry_files (conversation_id, path, parent, is_directory, content)
    VALUES ($1, $2, $3, false, $4)
    ON CONFLICT (conversation_id, path) DO NOTHING
    RETURNING path`,
  fileList: 'SELECT path FROM ferry_files WHERE conversation_id = $1 AND parent = $2',
  /** Whether anything lies inside folder $2. */
  fileHasChildren:
    'SELECT EXISTS (SELECT 1 FROM ferry_files WHERE conversation_id = $1 AND parent = $2) AS found',
  /** Removes $2 and, for a folder, everything inside it. */
  fileRemoveTree: `DELETE FROM ferry_files
    WHERE conversation_id = $1 AND (path = $2 OR left(path, length($2) + 1) = $2 || '/')`,
  /** Moves $2 (and everything inside it) to $3, whose parent is $4. */
  fileRenameTree: `UPDATE ferry_files SET
      path = $3 || substring(path FROM length($2) + 1),
      parent = CASE WHEN path = $2 THEN $4 ELSE $3 || substring(parent FROM length($2) + 1) END
    WHERE conversation_id = $1 AND (path = $2 OR left(path, length($2) + 1) = $2 || '/')`,
} as const;

/** Schema names a store accepts: lower-case SQL identifiers, so no quoting surprises. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteIdentifier(name: string): string {
  if (!SCHEMA_NAME.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}
