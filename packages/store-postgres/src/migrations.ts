/**
 * The schema of a PostgresStore, as an ordered list of versions. `PostgresStore.connect` applies
 * the ones a database lacks, each in its own transaction, and records them in
 * `ferry_schema_migrations`. Never edit a released migration: add the next version.
 *
 * Documents (state, events) are JSON text, not `jsonb`: a store keeps them byte for byte (key
 * order, `\u0000` in strings), and `jsonb` would rewrite both. The functions make each write one
 * round trip and one transaction, fenced by the lease token: they lock the conversation's row,
 * compare tokens, and only then write.
 */
export interface Migration {
  /** 1, 2, 3, ... in order, no gaps. */
  version: number;
  /** What it does, recorded beside the version. */
  name: string;
  /** The statements, run in one transaction with `search_path` set to the store's schema. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations, events, side files, fenced leases',
    sql: /* sql */ `
CREATE SEQUENCE ferry_lease_tokens;

CREATE TABLE ferry_conversations (
  id uuid PRIMARY KEY,
  state text,
  event_count bigint NOT NULL DEFAULT 0,
  lease_token bigint,
  lease_owner text,
  lease_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ferry_events (
  conversation_id uuid NOT NULL REFERENCES ferry_conversations (id) ON DELETE CASCADE,
  sequence bigint NOT NULL,
  event_id text NOT NULL,
  kind text NOT NULL,
  document text NOT NULL,
  PRIMARY KEY (conversation_id, sequence),
  UNIQUE (conversation_id, event_id)
);

CREATE TABLE ferry_files (
  conversation_id uuid NOT NULL,
  path text NOT NULL,
  parent text NOT NULL,
  is_directory boolean NOT NULL,
  content bytea,
  PRIMARY KEY (conversation_id, path)
);
CREATE INDEX ferry_files_by_parent ON ferry_files (conversation_id, parent);

-- Takes the lease when it is free, expired, or still held with p_take_token (a holder the
-- caller found dead). Returns whether it was taken, the token and expiry now in force, and the
-- previous holder (for the takeover warning or the locked error).
CREATE FUNCTION ferry_acquire_lease(p_id uuid, p_owner text, p_ttl_ms bigint, p_take_token bigint)
RETURNS TABLE (r_acquired boolean, r_token bigint, r_expires_at timestamptz,
               r_previous_token bigint, r_previous_owner text, r_previous_expired boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  conv ferry_conversations%ROWTYPE;
  expired boolean;
  new_token bigint;
  new_expiry timestamptz;
BEGIN
  INSERT INTO ferry_conversations (id) VALUES (p_id) ON CONFLICT (id) DO NOTHING;
  SELECT * INTO conv FROM ferry_conversations WHERE id = p_id FOR UPDATE;
  expired := conv.lease_expires_at IS NOT NULL AND conv.lease_expires_at <= clock_timestamp();
  IF conv.lease_token IS NOT NULL AND NOT expired
     AND conv.lease_token IS DISTINCT FROM p_take_token THEN
    RETURN QUERY SELECT false, conv.lease_token, conv.lease_expires_at,
                        conv.lease_token, conv.lease_owner, false;
    RETURN;
  END IF;
  new_token := nextval('ferry_lease_tokens');
  new_expiry := clock_timestamp() + p_ttl_ms * interval '1 millisecond';
  UPDATE ferry_conversations
     SET lease_token = new_token, lease_owner = p_owner, lease_expires_at = new_expiry
   WHERE id = p_id;
  RETURN QUERY SELECT true, new_token, new_expiry, conv.lease_token, conv.lease_owner, expired;
END $$;

-- Gives the lease up if p_token still holds it; a conversation that never got a state, an
-- event or a side file leaves no row behind.
CREATE FUNCTION ferry_release_lease(p_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE ferry_conversations
     SET lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
   WHERE id = p_id AND lease_token = p_token;
  IF FOUND THEN
    DELETE FROM ferry_conversations c
     WHERE c.id = p_id AND c.state IS NULL AND c.event_count = 0 AND c.lease_token IS NULL
       AND NOT EXISTS (SELECT 1 FROM ferry_files f WHERE f.conversation_id = p_id);
  END IF;
END $$;

-- Replaces the state document if p_token is the current lease. r_token: the token in force.
CREATE FUNCTION ferry_write_state(p_id uuid, p_token bigint, p_state text)
RETURNS TABLE (r_written boolean, r_token bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  current_token bigint;
BEGIN
  SELECT lease_token INTO current_token FROM ferry_conversations WHERE id = p_id FOR UPDATE;
  IF current_token IS DISTINCT FROM p_token THEN
    RETURN QUERY SELECT false, current_token;
    RETURN;
  END IF;
  UPDATE ferry_conversations SET state = p_state, updated_at = now() WHERE id = p_id;
  RETURN QUERY SELECT true, current_token;
END $$;

-- Appends a batch at the end of the log if p_token is the current lease, all or none, and
-- announces the new length on channel ferry_events as '<schema>:<conversation>:<next>'.
-- r_status: 'ok', 'lease_lost' (r_token: the token in force) or 'duplicate' (r_duplicate).
CREATE FUNCTION ferry_append_events(p_id uuid, p_token bigint, p_ids text[], p_kinds text[],
                                    p_documents text[])
RETURNS TABLE (r_status text, r_from bigint, r_next bigint, r_token bigint, r_duplicate text)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  current_token bigint;
  current_count bigint;
  duplicate text;
  added bigint := coalesce(array_length(p_ids, 1), 0);
BEGIN
  SELECT lease_token, event_count INTO current_token, current_count
    FROM ferry_conversations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR current_token IS DISTINCT FROM p_token THEN
    RETURN QUERY SELECT 'lease_lost', NULL::bigint, NULL::bigint, current_token, NULL::text;
    RETURN;
  END IF;
  IF added = 0 THEN
    RETURN QUERY SELECT 'ok', current_count, current_count, current_token, NULL::text;
    RETURN;
  END IF;
  SELECT e.event_id INTO duplicate FROM ferry_events e
   WHERE e.conversation_id = p_id AND e.event_id = ANY (p_ids) LIMIT 1;
  IF duplicate IS NOT NULL THEN
    RETURN QUERY SELECT 'duplicate', NULL::bigint, NULL::bigint, current_token, duplicate;
    RETURN;
  END IF;
  INSERT INTO ferry_events (conversation_id, sequence, event_id, kind, document)
  SELECT p_id, current_count + batch.position - 1, batch.event_id, batch.kind, batch.document
    FROM unnest(p_ids, p_kinds, p_documents) WITH ORDINALITY
         AS batch (event_id, kind, document, position);
  UPDATE ferry_conversations SET event_count = current_count + added, updated_at = now()
   WHERE id = p_id;
  PERFORM pg_notify('ferry_events',
                    current_schema() || ':' || p_id::text || ':' || (current_count + added)::text);
  RETURN QUERY SELECT 'ok', current_count, current_count + added, current_token, NULL::text;
END $$;

-- Deletes the conversation (state, events, side files, lease) if p_token is the current lease.
-- r_status: 'deleted', 'empty' (nothing but the lease was there) or 'lease_lost'.
CREATE FUNCTION ferry_delete_conversation(p_id uuid, p_token bigint)
RETURNS TABLE (r_status text, r_token bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  conv ferry_conversations%ROWTYPE;
  had_files boolean;
BEGIN
  SELECT * INTO conv FROM ferry_conversations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR conv.lease_token IS DISTINCT FROM p_token THEN
    RETURN QUERY SELECT 'lease_lost', conv.lease_token;
    RETURN;
  END IF;
  DELETE FROM ferry_files WHERE conversation_id = p_id;
  had_files := FOUND;
  DELETE FROM ferry_conversations WHERE id = p_id;
  RETURN QUERY SELECT CASE WHEN conv.state IS NOT NULL OR conv.event_count > 0 OR had_files
                           THEN 'deleted' ELSE 'empty' END, p_token;
END $$;
`,
  },
  {
    version: 2,
    name: 'named documents a server shares across replicas (its settings)',
    sql: /* sql */ `
CREATE TABLE ferry_documents (
  name text PRIMARY KEY,
  content text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 3,
    name: 'a deletion is announced to subscribers on every process',
    sql: /* sql */ `
-- As version 1's, with p_replacing, and a deletion that removed something announces
-- '<schema>:<conversation>:deleted' (or ':replaced' when the caller writes it again under the
-- same id) on channel ferry_events, sent on commit, so every process's subscribers hear of it.
DROP FUNCTION ferry_delete_conversation(uuid, bigint);
CREATE FUNCTION ferry_delete_conversation(p_id uuid, p_token bigint, p_replacing boolean)
RETURNS TABLE (r_status text, r_token bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  conv ferry_conversations%ROWTYPE;
  had_files boolean;
  status text;
BEGIN
  SELECT * INTO conv FROM ferry_conversations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR conv.lease_token IS DISTINCT FROM p_token THEN
    RETURN QUERY SELECT 'lease_lost', conv.lease_token;
    RETURN;
  END IF;
  DELETE FROM ferry_files WHERE conversation_id = p_id;
  had_files := FOUND;
  DELETE FROM ferry_conversations WHERE id = p_id;
  status := CASE WHEN conv.state IS NOT NULL OR conv.event_count > 0 OR had_files
                 THEN 'deleted' ELSE 'empty' END;
  IF status = 'deleted' THEN
    PERFORM pg_notify('ferry_events', current_schema() || ':' || p_id::text || ':' ||
                      CASE WHEN p_replacing THEN 'replaced' ELSE 'deleted' END);
  END IF;
  RETURN QUERY SELECT status, p_token;
END $$;
`,
  },
];

/** The newest schema version this package knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
