import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** The argument that makes the bench CLI run a long-lived service in a child process. */
export const SERVICE_FLAG = '--service';

/** What a service's methods answer with: anything that survives `JSON.stringify`. */
type Json = unknown;

/** A service running in a child process, driven over IPC. */
export interface ServiceHandle<Ready> {
  /** What the service said once it was up (e.g. its URLs). */
  readonly ready: Ready;
  /** The child's process id. */
  readonly pid: number;
  /** Calls one of the service's methods and resolves with its answer. */
  call<Answer>(method: string, input?: Json): Promise<Answer>;
  /** Stops the service (its `stop` method) and resolves once the process has exited. */
  stop<Answer>(): Promise<Answer>;
}

/** The service side: methods by name, `stop` included; each answers with JSON. */
export type ServiceMethods = Record<string, (input: Json) => unknown>;

interface CallMessage {
  type: 'call';
  id: number;
  method: string;
  input: Json;
}

type ChildMessage =
  | { type: 'ready'; value: Json }
  | { type: 'answer'; id: number; value: Json }
  | { type: 'failure'; id: number; message: string };

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts `task` as a service in a fresh Node process (this same CLI with `--service`), so that
 * what it runs (a server, say) has a process of its own: its memory is its own and it competes
 * with the client for the CPU as a real server would. Resolves once the service is ready.
 */
export async function startService<Ready>(
  task: string,
  input: Json,
): Promise<ServiceHandle<Ready>> {
  const script = process.argv[1];
  if (script === undefined) throw new Error('startService: no script path in process.argv');
  const child: ChildProcess = fork(script, [SERVICE_FLAG, task, JSON.stringify(input)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  const exited = once(child, 'exit');
  const pending = new Map<
    number,
    { resolve: (value: Json) => void; reject: (error: Error) => void }
  >();
  let failExit: (error: Error) => void = () => undefined;
  const ready = new Promise<Json>((resolve, reject) => {
    failExit = reject;
    const timer = setTimeout(
      () => reject(new Error(`service ${task} did not start in time\n${stderr}`)),
      START_TIMEOUT_MS,
    );
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.value);
        return;
      }
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.type === 'answer') waiter.resolve(message.value);
      else waiter.reject(new Error(`service ${task}: ${message.message}`));
    });
  });
  child.once('exit', (code, signal) => {
    const error = new Error(`service ${task} exited (${code ?? signal})\n${stderr}`);
    failExit(error);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  let nextId = 0;
  const call = <Answer>(method: string, value?: Json): Promise<Answer> => {
    nextId += 1;
    const id = nextId;
    return new Promise<Answer>((resolve, reject) => {
      pending.set(id, { resolve: (answer) => resolve(answer as Answer), reject });
      const message: CallMessage = { type: 'call', id, method, input: value ?? null };
      child.send(message, (error) => {
        if (error !== null) {
          pending.delete(id);
          reject(error);
        }
      });
    });
  };
  let readyValue: Json;
  try {
    readyValue = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    ready: readyValue as Ready,
    pid: child.pid ?? -1,
    call,
    stop: async <Answer>() => {
      const answer = await call<Answer>('stop');
      child.disconnect();
      // It has closed everything it opened; if some handle still holds it up, end it.
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      return answer;
    },
  };
}

/**
 * Runs in the child: tells the parent `ready`, then answers calls until `stop` has answered,
 * after which the IPC channel is closed so the process can exit.
 */
export function serveMethods(ready: Json, methods: ServiceMethods): void {
  const send = (message: ChildMessage) => process.send?.(message);
  process.on('message', (message: CallMessage) => {
    const method = methods[message.method];
    if (method === undefined) {
      send({ type: 'failure', id: message.id, message: `unknown method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => method(message.input))
      .then(
        (value) => send({ type: 'answer', id: message.id, value }),
        (error: unknown) =>
          send({
            type: 'failure',
            id: message.id,
            message: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  // The parent is gone (or done with us): nothing more will be asked.
  process.once('disconnect', () => process.exit(0));
  send({ type: 'ready', value: ready });
}
