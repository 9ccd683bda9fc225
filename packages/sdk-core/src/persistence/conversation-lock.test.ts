import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConversationLockedError } from '../errors/index';
import { createTemporaryDirectory } from '../testing/index';
import { ConversationLock } from './conversation-lock';
import { InMemoryFileStore } from './in-memory-file-store';
import { LocalFileStore } from './local-file-store';

const noWarnings = (message: string) => {
  throw new Error(`unexpected warning: ${message}`);
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('the child process did not start');
  return child.pid;
}

/** A live child process, killed on dispose. */
async function sleepingProcess(): Promise<{ pid: number } & AsyncDisposable> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
  });
  await once(child, 'spawn');
  if (child.pid === undefined) throw new Error('the child process did not start');
  return {
    pid: child.pid,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

function lockRecord(pid: number, host = hostname()): string {
  return JSON.stringify({ pid, hostname: host, started_at: '2025-06-01T00:00:00.000Z' });
}

describe('ConversationLock', () => {
  it('writes the owner record and refuses a second owner in the same process', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const lock = await ConversationLock.acquire({ store, onWarning: noWarnings });
    const record: unknown = JSON.parse(await readFile(join(directory.path, '.lock'), 'utf8'));
    expect(record).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(lock.owner).toEqual({
      pid: process.pid,
      hostname: hostname(),
      started_at: expect.stringMatching(/Z$/) as unknown,
    });

    const sameStore = await rejection(ConversationLock.acquire({ store, onWarning: noWarnings }));
    expect(ConversationLockedError.isInstance(sameStore)).toBe(true);
    expect(sameStore).toMatchObject({ directory: directory.path, owner: lock.owner });
    const otherStore = new LocalFileStore({ root: directory.path });
    const again = await rejection(
      ConversationLock.acquire({ store: otherStore, onWarning: noWarnings }),
    );
    expect(ConversationLockedError.isInstance(again)).toBe(true);
    await lock.release();
  });

  it('can be taken again once released; release is idempotent', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const first = await ConversationLock.acquire({ store, onWarning: noWarnings });
    await Promise.all([first.release(), first.release()]);
    await first.release();
    expect(first.released).toBe(true);
    expect(await store.exists('.lock')).toBe(false);
    const second = await ConversationLock.acquire({ store, onWarning: noWarnings });
    await first.release();
    expect(await store.exists('.lock')).toBe(true);
    await second.release();
    expect(await store.exists('.lock')).toBe(false);
  });

  it('does not remove a lock file that is no longer its own', async () => {
    await using directory = await createTemporaryDirectory();
    await using other = await sleepingProcess();
    const store = new LocalFileStore({ root: directory.path });
    const lock = await ConversationLock.acquire({ store, onWarning: noWarnings });
    await writeFile(join(directory.path, '.lock'), lockRecord(other.pid));
    await lock.release();
    expect(await store.readText('.lock')).toBe(lockRecord(other.pid));
  });

  it('takes over the lock of a dead process on this host, with a warning', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const pid = await deadPid();
    await writeFile(join(directory.path, '.lock'), lockRecord(pid));
    const onWarning = vi.fn();
    const lock = await ConversationLock.acquire({ store, onWarning });
    expect(onWarning).toHaveBeenCalledOnce();
    expect(onWarning.mock.calls[0]?.[0]).toContain(`process ${pid}`);
    expect(JSON.parse((await store.readText('.lock')) ?? '')).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('refuses when a live process on this host holds the lock', async () => {
    await using directory = await createTemporaryDirectory();
    await using other = await sleepingProcess();
    const store = new LocalFileStore({ root: directory.path });
    await writeFile(join(directory.path, '.lock'), lockRecord(other.pid));
    const error = await rejection(ConversationLock.acquire({ store, onWarning: noWarnings }));
    expect(ConversationLockedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      directory: directory.path,
      owner: { pid: other.pid, hostname: hostname(), started_at: '2025-06-01T00:00:00.000Z' },
    });
    expect(await store.readText('.lock')).toBe(lockRecord(other.pid));
  });

  it('refuses a lock held on another host, whose process it cannot check', async () => {
    const store = new InMemoryFileStore();
    await store.writeAtomic('.lock', lockRecord(await deadPid(), 'another-host.example'));
    const error = await rejection(ConversationLock.acquire({ store, onWarning: noWarnings }));
    expect(ConversationLockedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ owner: { hostname: 'another-host.example' } });
  });

  it.each([
    { name: 'an unparsable lock file', content: '{"pid": 12' },
    { name: 'a lock this process wrote but no longer holds', content: lockRecord(process.pid) },
  ])('takes over $name, with a warning', async ({ content }) => {
    const store = new InMemoryFileStore();
    await store.writeAtomic('.lock', content);
    const onWarning = vi.fn();
    const lock = await ConversationLock.acquire({ store, onWarning });
    expect(onWarning).toHaveBeenCalledOnce();
    expect(await store.readText('.lock')).not.toBe(content);
    await lock.release();
    expect(await store.exists('.lock')).toBe(false);
  });

  it('works on a memory store, scoped to a conversation folder', async () => {
    const store = new InMemoryFileStore();
    const conversation = store.scope('conversations/a');
    await using lock = await ConversationLock.acquire({
      store: conversation,
      onWarning: noWarnings,
    });
    const error = await rejection(
      ConversationLock.acquire({ store: store.scope('conversations/a'), onWarning: noWarnings }),
    );
    expect(error).toMatchObject({ directory: 'memory:/conversations/a', owner: lock.owner });
    await using other = await ConversationLock.acquire({
      store: store.scope('conversations/b'),
      onWarning: noWarnings,
    });
    await using separate = await ConversationLock.acquire({
      store: new InMemoryFileStore().scope('conversations/a'),
      onWarning: noWarnings,
    });
    expect([other.released, separate.released]).toEqual([false, false]);
  });
});
