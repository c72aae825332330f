import { defineConfig } from 'vitest/config';

// Five projects, fastest first: `unit` (no child process, no synthesis, no Python, no network beyond an
// in-process loopback server), `faults` (fault campaigns, fuzzing and replays at the caps, sized by
// FAULT_RECORDS / FUZZ_RUNS),
// `synth` (test/infra, and the tests named for why they are not unit tests: `*.synth.test.ts` synthesizes the
// stacks, `*.process.test.ts` runs child processes, the project's tools or Python in .venv-lake/; they sit
// beside the unit tests of the same module), `package` and `e2e`.
const SLOW = ['**/*.synth.test.ts', '**/*.process.test.ts'];
// Every project but e2e: the clock can be moved for them (.ci/shifted-clock.sh).
const IN_PROCESS = {
  setupFiles: ['test/support/shifted-clock.ts'],
  env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
};

export default defineConfig({
  test: {
    // Only the unit project runs in the threads pool, and there its files share a worker's modules:
    // collecting each file afresh cost more than its tests (17 s of 78 s). So a unit test file leaves
    // nothing behind: SDK mocks restored in `afterAll`, environment through `vi.stubEnv` (undone by
    // `vi.unstubAllEnvs`), module state reset where it reloads a handler. The other projects run in forks,
    // a fresh process per file. (Vitest 3 takes a pool's isolation from the root configuration only.)
    poolOptions: { threads: { isolate: false } },
    projects: [
      {
        test: {
          name: 'unit',
          ...IN_PROCESS,
          include: ['test/unit/**/*.test.ts', 'test/handlers/**/*.test.ts'],
          exclude: SLOW,
          // Files share a worker's modules: the threads pool, not isolated (the root's poolOptions above).
          pool: 'threads',
          // The slowest unit test takes 4 s on a quiet 2-core machine; this leaves room for a loaded one.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'faults',
          ...IN_PROCESS,
          include: ['test/faults/**/*.test.ts'],
          // Each test sets its timeout from its size; this bounds the hooks of a large `npm run test:faults`.
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'synth',
          ...IN_PROCESS,
          include: ['test/infra/**/*.test.ts', ...SLOW.map((p) => `test/${p}`)],
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
