import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LockOwner } from '@ferry/sdk-core';

/**
 * The owner record stored with a lease: the file store's `.lock` fields, plus this process' PID
 * namespace, so that a process id is only ever checked by a process that sees the same ids
 * (containers sharing a host name have namespaces of their own).
 */
export interface OwnerRecord extends LockOwner {
  pid_namespace?: string;
  /** Where the owner answers requests for its conversations (a cluster replica's URL). */
  endpoint?: string;
}

/** This process as a lease owner. */
export function currentOwner(endpoint?: string): OwnerRecord {
  const namespace = pidNamespace();
  return {
    pid: process.pid,
    hostname: hostname(),
    started_at: new Date().toISOString(),
    ...(namespace === undefined ? {} : { pid_namespace: namespace }),
    ...(endpoint === undefined ? {} : { endpoint }),
  };
}

/** The lease owner as `LockOwner` (what errors and leases report). */
export function lockOwner(record: OwnerRecord): LockOwner {
  return { pid: record.pid, hostname: record.hostname, started_at: record.started_at };
}

/** The owner record stored with a lease, or `undefined` when it is not one. */
export function parseOwner(text: string | null): OwnerRecord | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<OwnerRecord>;
    if (
      typeof value.pid === 'number' &&
      typeof value.hostname === 'string' &&
      typeof value.started_at === 'string'
    ) {
      return {
        ...lockOwner(value as OwnerRecord),
        ...(typeof value.pid_namespace === 'string' ? { pid_namespace: value.pid_namespace } : {}),
        ...(typeof value.endpoint === 'string' ? { endpoint: value.endpoint } : {}),
      };
    }
  } catch {
    // not an owner record: treated as unknown
  }
  return undefined;
}

/**
 * Whether `owner` was a process of this host and PID namespace that no longer runs (killed,
 * crashed): its lease can be taken over at once instead of after its TTL. Processes elsewhere
 * cannot be checked; their leases lapse with their TTL.
 */
export function isGoneLocalProcess(owner: OwnerRecord): boolean {
  const namespace = pidNamespace();
  if (
    owner.hostname !== hostname() ||
    owner.pid === process.pid ||
    namespace === undefined ||
    owner.pid_namespace !== namespace
  ) {
    return false;
  }
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}
