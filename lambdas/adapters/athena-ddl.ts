/**
 * Runs one Athena statement in a workgroup and reports its state: the two calls the Iceberg table
 * custom resource needs (start, then poll until a final state).
 */
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';

let athena: AthenaClient | undefined;
const client = (): AthenaClient => {
  athena ??= new AthenaClient({ maxAttempts: 5 });
  return athena;
};

/**
 * Starts `sql` in `workGroup` with `database` as its context, so that Athena never resolves a name against
 * the Region's `default` database (the role is still granted `default`, as the Athena guide requires).
 */
export async function startStatement(sql: string, workGroup: string, database: string): Promise<string> {
  const out = await client().send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
    }),
  );
  if (!out.QueryExecutionId) throw new Error('Athena returned no query execution id');
  return out.QueryExecutionId;
}

export type StatementState =
  | { readonly done: false }
  | { readonly done: true; readonly ok: true }
  | { readonly done: true; readonly ok: false; readonly reason: string };

export async function statementState(queryExecutionId: string): Promise<StatementState> {
  const out = await client().send(new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
  const status = out.QueryExecution?.Status;
  switch (status?.State) {
    case 'SUCCEEDED':
      return { done: true, ok: true };
    case 'FAILED':
    case 'CANCELLED':
      return {
        done: true,
        ok: false,
        reason: `${status.State}: ${status.StateChangeReason ?? 'no reason given'}`,
      };
    default:
      return { done: false };
  }
}
