import { defineConfig } from 'vitest/config';

// The reliability suite (child processes, SIGKILLs, injected faults, a real server): about two
// minutes on 2 cores, so it runs with `pnpm test:reliability` and is left out of `pnpm test`.
export default defineConfig({
  test: {
    name: 'reliability',
    include: ['src/**/*.reliability.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
  },
});
