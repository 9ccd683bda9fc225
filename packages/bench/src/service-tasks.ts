/** Starts one service of a child process (see `startService`); it runs until stopped. */
export async function runServiceTask(task: string, input: unknown): Promise<void> {
  switch (task) {
    case 'ferry-server': {
      const { runFerryServerService } = await import('./server/ferry-server-service');
      await runFerryServerService(input as { dataDir: string; apiKey: string });
      return;
    }
    default:
      throw new Error(`unknown service "${task}"`);
  }
}
