import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'workspace-remote',
    include: ['src/**/*.test.ts'],
    // Every test talks to a real server (some to a separate process) over loopback.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
