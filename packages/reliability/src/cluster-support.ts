import type { AnyEvent } from '@ferry/sdk-core';
import { toolCall, type ScriptTurn } from '@ferry/sdk-core/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { vi } from 'vitest';
import WebSocket from 'ws';
import { expectStatus } from './server-http';
import { startServerProcess, type ServerProcess } from './teleport-server-process';

/** Options of {@link startReplica}. */
export interface ReplicaOptions {
  databaseUrl: string;
  dataDir: string;
  workspaceRoot: string;
  leaseTtlSeconds: number;
}

/** One `ferry-server --database-url` process of a test cluster (no API key). */
export function startReplica(options: ReplicaOptions): Promise<ServerProcess> {
  return startServerProcess({
    dataDir: options.dataDir,
    workspaceRoot: options.workspaceRoot,
    apiKey: '',
    secretKey: 'cluster-test-secret-key',
    serverFlags: [
      '--database-url',
      options.databaseUrl,
      '--lease-ttl',
      String(options.leaseTtlSeconds),
    ],
  });
}

/**
 * A run of `steps` think steps, each behind an LLM answer that takes `delayMs`, then `finish`:
 * long enough to be in flight when a replica dies, without any child process.
 */
export function slowThinkTurn(steps: number, delayMs: number) {
  return async (request: { messages: readonly { role: string }[] }): Promise<ScriptTurn> => {
    await sleep(delayMs);
    const lastUser = request.messages.map((message) => message.role).lastIndexOf('user');
    const done = request.messages.slice(lastUser + 1).filter((message) => message.role === 'tool');
    if (done.length < steps) return toolCall('think', { thought: `step ${done.length + 1}` });
    return toolCall('finish', { message: 'cluster run done' });
  };
}

/** An events socket of one conversation on one replica, recording what it receives. */
export interface RecordingSocket {
  readonly received: { event: AnyEvent; at: number }[];
  close(): void;
}

/** Opens `/sockets/events/<id>` with a full replay and records every event frame of the log. */
export async function recordEvents(baseUrl: string, id: string): Promise<RecordingSocket> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/sockets/events/${id}?resend_mode=all`;
  const socket = new WebSocket(url);
  const received: { event: AnyEvent; at: number }[] = [];
  socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as AnyEvent & { key?: unknown };
    // The state snapshots (first, and whenever a run stops) are not events of the log.
    if (frame.key === 'full_state') return;
    if (typeof frame.id === 'string') received.push({ event: frame, at: Date.now() });
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { received, close: () => socket.terminate() };
}

/** Calls `work` for every item, at most `limit` at once. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) {
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** An agent of the scripted LLM at `baseUrl` with the `think` tool. */
export function thinkingAgent(baseUrl: string) {
  return {
    kind: 'Agent',
    llm: { model: 'scripted', base_url: baseUrl, api_key: 'sk-cluster-test' },
    tools: [{ name: 'think' }],
  };
}

/** Waits until every conversation is `finished`, as `baseUrl` reports it. */
export async function waitAllFinished(
  baseUrl: string,
  ids: readonly string[],
  timeout: number,
): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const id of ids) {
        const info = await expectStatus(baseUrl, 200, 'GET', `/api/conversations/${id}`);
        const status = (info.body as { execution_status: string }).execution_status;
        if (status !== 'finished') throw new Error(`${id} is ${status}`);
      }
    },
    { timeout, interval: 300 },
  );
}
