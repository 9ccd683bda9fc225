import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'sdk-core',
    include: ['src/**/*.test.ts'],
  },
});
