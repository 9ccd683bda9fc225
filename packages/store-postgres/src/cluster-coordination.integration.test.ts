import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LeaseLostError, type ConversationLease } from '@ferry/sdk-core';
import { PostgresStore } from './index';
import type { TestDatabase } from './testing/index';
import { createTestDatabase } from './testing/index';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresServerUrl'), 'cluster_coordination');
});
afterAll(async () => {
  await database.drop();
});

async function expireLease(id: string): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(
      "UPDATE ferry_conversations SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
      [id],
    );
  } finally {
    await client.end();
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('PostgresStore for a cluster of replicas', () => {
  it('renews every lease it holds in one statement per third of the TTL', async () => {
    const store = await PostgresStore.connect({ connectionString: database.url, leaseTtlMs: 600 });
    try {
      for (let index = 0; index < 50; index += 1) await store.acquireLease(randomUUID());
      const before = store.renewalStatements;
      // Five TTLs: each lease outlives its TTL several times over, renewed in batches.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const statements = store.renewalStatements - before;
      // One statement per period for all 50 leases (one per lease would be 50 times as many).
      expect(statements).toBeGreaterThanOrEqual(3);
      expect(statements).toBeLessThanOrEqual(16);
      expect(await store.staleLeases()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("names the holder's advertised URL, and tells a holder whose lease was taken over", async () => {
    const first = await PostgresStore.connect({ connectionString: database.url, leaseTtlMs: 600 });
    const second = await PostgresStore.connect({ connectionString: database.url });
    try {
      first.advertise('http://10.0.0.1:8001');
      const id = randomUUID();
      const lease = await first.acquireLease(id);
      await first.writeState(lease, { id, execution_status: 'running' });
      expect(await second.leaseHolder(id)).toMatchObject({
        endpoint: 'http://10.0.0.1:8001',
        live: true,
        mine: false,
        token: lease.token,
      });
      expect((await first.leaseHolder(id))?.mine).toBe(true);

      const lost: ConversationLease[] = [];
      first.onLeaseLost((gone) => lost.push(gone));
      // The holder stalls past its TTL (its renewals cannot run): another store finds the lease
      // stale and takes it over.
      await expireLease(id);
      expect(await second.staleLeases()).toContain(id);
      const taken = await second.acquireLease(id);
      expect(taken.token).toBeGreaterThan(lease.token);
      await until(() => lost.length > 0, 'the lost lease to be reported');
      expect(lost.map((gone) => gone.token)).toEqual([lease.token]);
      // Fenced: the old holder's write is refused.
      await expect(first.writeState(lease, { id, title: 'late' })).rejects.toSatisfy((error) =>
        LeaseLostError.isInstance(error),
      );
      expect(await second.staleLeases()).not.toContain(id);
      expect(await second.conversationTimes(id)).toMatchObject({
        createdAt: expect.any(String) as string,
      });
      await second.releaseLease(taken);
      expect(await second.leaseHolder(id)).toBeUndefined();
    } finally {
      await first.close();
      await second.close();
    }
  });
});
