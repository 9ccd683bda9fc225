import { hostname } from 'node:os';
import type { LockOwner } from '@ferry/sdk-core';

/** This process as a lease owner, in the shape of the file store's `.lock` record. */
export function currentOwner(): LockOwner {
  return { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString() };
}

/** The owner record stored with a lease, or `undefined` when it is not one. */
export function parseOwner(text: string | null): LockOwner | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof value.pid === 'number' &&
      typeof value.hostname === 'string' &&
      typeof value.started_at === 'string'
    ) {
      return { pid: value.pid, hostname: value.hostname, started_at: value.started_at };
    }
  } catch {
    // not an owner record: treated as unknown
  }
  return undefined;
}

/**
 * Whether `owner` was a process on this host that no longer runs (killed, crashed): its lease
 * can be taken over at once instead of after its TTL. Another host's processes cannot be
 * checked; their leases lapse with their TTL.
 */
export function isGoneLocalProcess(owner: LockOwner): boolean {
  if (owner.hostname !== hostname() || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}
