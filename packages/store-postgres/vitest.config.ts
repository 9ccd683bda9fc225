import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'store-postgres',
    include: ['src/**/*.test.ts'],
    // Finds the test PostgreSQL server, or starts a throwaway one when none answers.
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
