import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          setupFiles: ['test/support/shifted-clock.ts'],
          env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
          include: [
            'test/unit/**/*.test.ts',
            'test/handlers/**/*.test.ts',
            'test/infra/**/*.test.ts',
            'test/faults/**/*.test.ts',
          ],
          // Synthesis with bundling and cdk-nag takes a minute on a 2-core runner when other suites run beside it.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // npm pack, the tarball installed into a scratch CDK app, synthesized there (minutes: a build and an install).
          name: 'package',
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          include: ['test/package/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          name: 'e2e',
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
