import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'workspace-local',
    include: ['src/**/*.test.ts'],
  },
});
