import { defineConfig } from 'vitest/config';

// Only the bench kit's own correctness tests: no benchmark ever runs under `pnpm test`.
export default defineConfig({
  test: {
    name: 'bench',
    include: ['src/**/*.test.ts'],
  },
});
