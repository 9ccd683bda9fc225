import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'demo',
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    // Screenshots attached to browser tests land beside them, in the gitignored test-artifacts/.
    attachmentsDir: 'test-artifacts/attachments',
  },
});
