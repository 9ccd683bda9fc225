import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { afterEach } from 'vitest';
import { startServer, type FerryServer } from '../server';
import { TEST_API_KEY, testClient, type TestClient } from '../test-support';

// For the bundle route tests: real servers on port 0 and a scripted LLM, closed after each test.

/** Registers the clean-up and gives the factories. */
export function useTestServers(): {
  newServer: () => Promise<{ server: FerryServer; client: TestClient }>;
  scriptedLLM: () => Promise<ScriptedLLMServer>;
  /** Runs `cleanup` after the test, before the servers close. */
  onCleanup: (cleanup: () => Promise<void>) => void;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    onCleanup: (cleanup) => {
      cleanups.push(cleanup);
    },
    newServer: async () => {
      const dir = await createTemporaryDirectory();
      cleanups.push(() => dir.remove());
      const server = await startServer({ port: 0, dataDir: dir.path, apiKey: TEST_API_KEY });
      cleanups.push(() => server.close());
      return { server, client: testClient(server) };
    },
    scriptedLLM: async () => {
      const llm = await startScriptedLLMServer({
        script: [],
        onExhausted: toolCall('finish', { message: 'done' }),
      });
      cleanups.push(() => llm.close());
      return llm;
    },
  };
}
