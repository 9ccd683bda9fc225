import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'workspace-remote',
    include: ['src/**/*.test.ts'],
  },
});
