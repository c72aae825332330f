/** Waits for the statement `on-event.ts` started; a failed statement fails the request with Athena's reason. */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { statementState } from '../adapters/athena-ddl.js';
import type { OnEventResponse } from './on-event.js';

export async function handler(
  event: CloudFormationCustomResourceEvent & Partial<OnEventResponse>,
): Promise<{ IsComplete: boolean }> {
  const id = event.Data?.QueryExecutionId;
  if (!id) return { IsComplete: true };
  const state = await statementState(id);
  if (!state.done) return { IsComplete: false };
  if (state.ok) return { IsComplete: true };
  // Deleting a table whose database is already gone leaves nothing to drop.
  if (event.RequestType === 'Delete' && /not (be )?found|does not exist/i.test(state.reason)) {
    return { IsComplete: true };
  }
  // A CREATE that finds a table is a failure: on-event looked first, so the table appeared meanwhile and
  // nothing says this resource may own it.
  throw new Error(`Athena ${event.Data?.Statement ?? 'statement'} ${id} failed: ${state.reason}`);
}
