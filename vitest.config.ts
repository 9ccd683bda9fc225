import { defineConfig } from 'vitest/config';

/** The server suites that start their servers with `startTestServer`, so run on either store. */
const SERVER_POSTGRES_SUITES = [
  'src/routes/conversation-routes.test.ts',
  'src/routes/conversation-extra-routes.test.ts',
  'src/routes/openhands-differences.test.ts',
  'src/routes/profile-validate-route.test.ts',
  'src/routes/teleport-routes.test.ts',
  'src/routes/health-routes.test.ts',
  'src/conversations/auto-title.test.ts',
  'src/sockets/event-socket.test.ts',
  'src/openhands-event-shapes.integration.test.ts',
  'src/openhands-client.integration.test.ts',
  'src/openhands-client-methods.integration.test.ts',
  'src/secrets-in-shell.integration.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/*',
      {
        // The server's route and socket suites again, with conversations in PostgreSQL (as
        // `ferry-server --database-url` keeps them): see TEST_STORE in its test-support.ts.
        test: {
          name: 'server-postgres',
          root: './packages/server',
          include: SERVER_POSTGRES_SUITES,
          env: { FERRY_TEST_STORE: 'postgres' },
        },
      },
      {
        // The reliability suites whose server can keep conversations in either store, again on
        // PostgreSQL: see RELIABILITY_STORE in packages/reliability/src/reliability-store.ts.
        test: {
          name: 'reliability-postgres',
          root: './packages/reliability',
          include: [
            'src/load.reliability.test.ts',
            'src/hostile-input.reliability.test.ts',
            'src/hostile-sockets.reliability.test.ts',
          ],
          env: { FERRY_TEST_STORE: 'postgres' },
          testTimeout: 240_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'repo',
          include: ['test/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
