import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConversationLockedError, type EventBatch } from '@ferry/sdk-core';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';
import { startHeldProxy } from './held-proxy.test-support';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'store');
});
afterAll(async () => {
  await database.drop();
});

function event(n: number) {
  return { id: randomUUID(), kind: 'MessageEvent', timestamp: new Date().toISOString(), n };
}

async function admin(statement: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await client.query(statement, values);
  } finally {
    await client.end();
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('PostgresStore leases across processes', () => {
  it('keeps a live process its lease, and hands it over at once after kill -9', async () => {
    const id = randomUUID();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PostgresStore } from ${JSON.stringify(dist)};
         const store = await PostgresStore.connect({ connectionString: process.argv[1], leaseTtlMs: 60000 });
         const lease = await store.acquireLease(process.argv[2]);
         await store.writeState(lease, { id: process.argv[2], title: 'child' });
         await store.appendEvents(lease, [0, 1, 2].map((n) => ({ id: crypto.randomUUID(), kind: 'MessageEvent', timestamp: new Date().toISOString(), n })));
         process.stdout.write('ready\\n');
         setInterval(() => {}, 1000);`,
        database.url,
        id,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const store = await PostgresStore.connect({ connectionString: database.url });
    try {
      const locked = await store.acquireLease(id).catch((error: unknown) => error);
      expect(ConversationLockedError.isInstance(locked)).toBe(true);
      expect((locked as ConversationLockedError).owner.pid).toBe(child.pid);

      child.kill('SIGKILL');
      await exited;
      const warnings: string[] = [];
      const lease = await store.acquireLease(id, { onWarning: (m) => warnings.push(m) });
      expect(warnings.join('\n')).toMatch(
        new RegExp(`process ${child.pid} .*that process is gone`),
      );
      expect((await store.readState(id))?.title).toBe('child');
      expect((await store.readEvents(id)).map((e) => e.n)).toEqual([0, 1, 2]);
      expect(await store.appendEvents(lease, [event(3)])).toEqual({ from: 3, next: 4 });
      await store.releaseLease(lease);
    } finally {
      await store.close();
    }
  });

  it('takes over a gone process only when it ran in the same PID namespace', async () => {
    const schema = `namespace_${randomUUID().slice(0, 8)}`;
    const owner = await PostgresStore.connect({ connectionString: database.url, schema });
    const other = await PostgresStore.connect({ connectionString: database.url, schema });
    try {
      const id = randomUUID();
      const lease = await owner.acquireLease(id, { ttlMs: 60_000 });
      await owner.writeState(lease, { id });
      const pretend = async (namespace: string) => {
        const record = {
          pid: 2 ** 22 + 17, // above Linux's largest pid: no such process here
          hostname: hostname(),
          started_at: new Date().toISOString(),
          pid_namespace: namespace,
        };
        await admin(`UPDATE "${schema}".ferry_conversations SET lease_owner = $2 WHERE id = $1`, [
          id,
          JSON.stringify(record),
        ]);
      };
      // Another container on a host-network shares the host name, not the process ids.
      await pretend('pid:[1]');
      const refused = await other.acquireLease(id).catch((error: unknown) => error);
      expect(ConversationLockedError.isInstance(refused)).toBe(true);
      await pretend(readlinkSync('/proc/self/ns/pid'));
      const taken = await other.acquireLease(id);
      expect(taken.token).toBeGreaterThan(lease.token);
      await other.releaseLease(taken);
    } finally {
      await owner.close();
      await other.close();
    }
  });

  it('renews a lease taken without a TTL for as long as its store is open', async () => {
    const schema = `beat_${randomUUID().slice(0, 8)}`;
    const owner = await PostgresStore.connect({
      connectionString: database.url,
      schema,
      leaseTtlMs: 300,
    });
    const other = await PostgresStore.connect({ connectionString: database.url, schema });
    try {
      const id = randomUUID();
      const lease = await owner.acquireLease(id);
      expect(lease.expiresAt).toBeUndefined();
      await owner.writeState(lease, { id });
      const { rows } = await admin(
        `SELECT lease_expires_at FROM "${schema}".ferry_conversations WHERE id = $1`,
        [id],
      );
      const firstExpiry = (rows[0] as { lease_expires_at: Date }).lease_expires_at.getTime();
      // Wait until the lease has been renewed past several of its TTLs.
      await until(async () => {
        const result = await admin(
          `SELECT lease_expires_at FROM "${schema}".ferry_conversations WHERE id = $1`,
          [id],
        );
        const expiry = (result.rows[0] as { lease_expires_at: Date }).lease_expires_at.getTime();
        return expiry > firstExpiry + 900;
      }, 'three renewals');
      const refused = await other.acquireLease(id).catch((error: unknown) => error);
      expect(ConversationLockedError.isInstance(refused)).toBe(true);
      await owner.appendEvents(lease, [event(0)]);
      // Closing the store releases its leases.
      await owner.close();
      const taken = await other.acquireLease(id);
      expect(taken.token).toBeGreaterThan(lease.token);
      await other.releaseLease(taken);
    } finally {
      await owner.close();
      await other.close();
    }
  });
});

describe('PostgresStore live events', () => {
  it('delivers every event after its LISTEN connection is cut and re-established', async () => {
    const store = await PostgresStore.connect({ connectionString: database.url });
    try {
      const id = randomUUID();
      const lease = await store.acquireLease(id);
      await store.writeState(lease, { id });
      const seen: number[] = [];
      const subscription = await store.subscribe(id, {
        from: 0,
        onEvents: (batch: EventBatch) => {
          seen.push(...batch.events.map((e) => e.n as number));
        },
      });
      await store.appendEvents(lease, [event(0), event(1)]);
      await until(() => seen.length === 2, 'the first events');
      const { rowCount } = await admin(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN ferry_events'`,
      );
      expect(rowCount).toBe(1);
      for (let n = 2; n < 10; n += 1) await store.appendEvents(lease, [event(n)]);
      await until(() => seen.length === 10, 'the events appended around the reconnect');
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Live again: a later append arrives by notification.
      await store.appendEvents(lease, [event(10)]);
      await until(() => seen.length === 11, 'an event after the reconnect');
      await subscription.close();
      await store.releaseLease(lease);
    } finally {
      await store.close();
    }
  });

  it('tells a subscriber of a deletion announced while its LISTEN connection was down', async () => {
    const { hostname, port } = new URL(database.url);
    const proxy = await startHeldProxy({ host: hostname, port: Number(port || 5432) });
    const reader = await PostgresStore.connect({ connectionString: proxy.url(database.url) });
    const writer = await PostgresStore.connect({ connectionString: database.url });
    try {
      const id = randomUUID();
      const lease = await writer.acquireLease(id);
      await writer.writeState(lease, { id });
      const seen: number[] = [];
      const deletions: { replaced: boolean }[] = [];
      const subscription = await reader.subscribe(id, {
        from: 0,
        onEvents: (batch: EventBatch) => {
          seen.push(...batch.events.map((e) => e.n as number));
        },
        onDeleted: (deletion) => {
          deletions.push(deletion);
        },
      });
      await writer.appendEvents(lease, [event(0), event(1)]);
      await until(() => seen.length === 2, 'the first events');
      // The reader's LISTEN connection is cut, and its new one held back until the deletion is
      // announced: only the check after the reconnect can tell it.
      proxy.hold();
      const { rowCount } = await admin(
        `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN ferry_events'`,
      );
      expect(rowCount).toBe(1);
      await admin('SELECT * FROM ferry_delete_conversation($1, $2, false)', [id, lease.token]);
      proxy.release();
      await until(() => deletions.length === 1, 'the deletion, once listening again');
      expect(deletions).toEqual([{ replaced: false }]);
      // Written again under the same id: its log is delivered from its start.
      const again = await writer.acquireLease(id);
      await writer.writeState(again, { id });
      await writer.appendEvents(again, [event(100)]);
      await until(() => seen.length === 3, 'the new log');
      expect(seen).toEqual([0, 1, 100]);
      expect(deletions).toHaveLength(1);
      await subscription.close();
      await writer.releaseLease(again);
    } finally {
      await reader.close();
      await writer.close();
      await proxy.close();
    }
  });
});
