import type { StackOutputs } from '../../infra/contract.js';

/** The profile the e2e stages deny-list (`filtered.test-profile`). */
export const E2E_TEST_PROFILE = 'e2e-test-bot';

export interface E2EContext {
  readonly target: 'ministack' | 'localstack' | 'aws';
  /** Emulator endpoint; empty on AWS. */
  readonly endpoint: string;
  readonly region: string;
  readonly outputs: StackOutputs;
  /** The deployed stacks' names. */
  readonly stacks: { readonly stateful: string; readonly pipeline: string };
  readonly emulator: boolean;
  /** Set when the target cannot run here; the suite is skipped with this reason. */
  readonly skipReason?: string;
}
