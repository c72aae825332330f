/**
 * CloudFormation's request sequences for the Iceberg table custom resource, against a strict Athena + Glue
 * catalog fake.
 *
 * - The fake runs the three statements the resource sends (CREATE TABLE, ALTER TABLE … ADD COLUMNS, DROP
 *   TABLE IF EXISTS) on an in-memory catalog and refuses what Athena refuses: a CREATE of a table that
 *   exists, an ALTER of a table that does not, an added column that exists, a statement without a workgroup
 *   or database context, any other statement. A statement is RUNNING on its first poll (the waiter polls).
 *   `GetTable` answers `EntityNotFoundException` for a missing table, as Glue does. `ListStackResources`
 *   answers from the modelled stack.
 * - The driver plays what the CDK provider framework does with the two handlers (`cfn-response.js`): on-event,
 *   then is-complete until done; when on-event throws on Create, the physical id is the framework's
 *   CREATE_FAILED marker and the rollback's Delete never reaches the handler; when is-complete throws, the
 *   physical id on-event returned stands and the rollback's Delete is delivered.
 */
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as isComplete } from '../../lambdas/iceberg-table/is-complete.js';
import { type OnEventResponse, handler as onEvent } from '../../lambdas/iceberg-table/on-event.js';

/** The CDK provider framework's marker for a Create whose on-event threw (cfn-response.js). */
export const CREATE_FAILED_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

export interface FakeTable {
  location: string;
  /** Names and types, as Glue lists them. */
  columns: { name: string; type: string }[];
  tableType: string;
  /** Rows written to it, to show a table kept or lost. */
  rows: number;
}

interface Execution {
  polls: number;
  state: 'SUCCEEDED' | 'FAILED';
  reason?: string;
  sql: string;
}

const unquote = (s: string) => s.replace(/`/g, '');
/** A column of the DDL (`` `name` type COMMENT '…' ``) as the catalog lists it. */
const columnOf = (ddl: string) => {
  const m = /^\s*`([a-z0-9_]+)` (.*?) COMMENT '/s.exec(ddl);
  if (!m) throw new Error(`not a column: ${ddl}`);
  return { name: m[1]!, type: m[2]! };
};

/** Athena + Glue catalog, strict. `failNext` makes the next statement fail with Athena's reason. */
export function strictLake() {
  const tables = new Map<string, FakeTable>();
  const executions = new Map<string, Execution>();
  const statements: string[] = [];
  let failNext: string | undefined;
  let n = 0;

  const execute = (sql: string): { state: 'SUCCEEDED' | 'FAILED'; reason?: string } => {
    const create = /^CREATE TABLE (\S+) \(\n([\s\S]*?)\n\)\n[\s\S]*LOCATION '([^']+)'/.exec(sql);
    if (create) {
      const name = unquote(create[1]!);
      if (tables.has(name))
        return { state: 'FAILED', reason: 'AlreadyExistsException: Table already exists.' };
      const columns = create[2]!.split(',\n').map(columnOf);
      tables.set(name, { location: create[3]!, columns, tableType: 'ICEBERG', rows: 0 });
      return { state: 'SUCCEEDED' };
    }
    const alter = /^ALTER TABLE (\S+) ADD COLUMNS \((.*)\)$/s.exec(sql);
    if (alter) {
      const t = tables.get(unquote(alter[1]!));
      if (!t)
        return { state: 'FAILED', reason: `TABLE_NOT_FOUND: Table ${unquote(alter[1]!)} does not exist` };
      const added = [...alter[2]!.matchAll(/`[a-z0-9_]+` [^`]*?COMMENT '(?:[^']|'')*'/g)].map((m) =>
        columnOf(m[0]),
      );
      const dup = added.find((c) => t.columns.some((x) => x.name === c.name));
      if (dup)
        return { state: 'FAILED', reason: `COLUMN_ALREADY_EXISTS: Column '${dup.name}' already exists` };
      t.columns.push(...added);
      return { state: 'SUCCEEDED' };
    }
    const drop = /^DROP TABLE IF EXISTS (\S+)$/.exec(sql);
    if (drop) {
      tables.delete(unquote(drop[1]!));
      return { state: 'SUCCEEDED' };
    }
    return { state: 'FAILED', reason: `line 1:1: mismatched input in ${sql.slice(0, 30)}` };
  };

  const athena = mockClient(AthenaClient);
  athena.on(StartQueryExecutionCommand).callsFake((input) => {
    if (!input.WorkGroup || !input.QueryExecutionContext?.Database) {
      throw Object.assign(new Error('workgroup and database context are required'), {
        name: 'InvalidRequestException',
      });
    }
    const id = `q-${++n}`;
    const sql = String(input.QueryString);
    statements.push(sql);
    const injected = failNext;
    failNext = undefined;
    const result = injected ? { state: 'FAILED' as const, reason: injected } : execute(sql);
    executions.set(id, { polls: 0, sql, ...result });
    return { QueryExecutionId: id };
  });
  athena.on(GetQueryExecutionCommand).callsFake((input) => {
    const e = executions.get(String(input.QueryExecutionId));
    if (!e) throw Object.assign(new Error('QueryExecution not found'), { name: 'InvalidRequestException' });
    if (e.polls++ === 0) return { QueryExecution: { Status: { State: 'RUNNING' } } };
    return { QueryExecution: { Status: { State: e.state, StateChangeReason: e.reason } } };
  });

  const glue = mockClient(GlueClient);
  glue.on(GetTableCommand).callsFake((input) => {
    const t = tables.get(`${input.DatabaseName}.${input.Name}`);
    if (!t) {
      throw Object.assign(new Error(`Table ${input.Name} not found.`), { name: 'EntityNotFoundException' });
    }
    return {
      Table: {
        Name: input.Name,
        DatabaseName: input.DatabaseName,
        StorageDescriptor: {
          Location: t.location,
          Columns: t.columns.map((c) => ({ Name: c.name, Type: c.type })),
        },
        Parameters: {
          table_type: t.tableType,
          metadata_location: `${t.location}metadata/00000.metadata.json`,
        },
      },
    };
  });

  const stack = new Map<string, { physicalId?: string; status: string }>();
  const cloudFormation = mockClient(CloudFormationClient);
  cloudFormation.on(ListStackResourcesCommand).callsFake(() => ({
    StackResourceSummaries: [...stack].map(([logicalId, r]) => ({
      LogicalResourceId: logicalId,
      PhysicalResourceId: r.physicalId,
      ResourceType: 'Custom::IcebergTable',
      ResourceStatus: r.status,
    })),
  }));

  return {
    tables,
    statements,
    /** The stack's resources as CloudFormation lists them. */
    stack,
    failNextStatement(reason: string) {
      failNext = reason;
    },
    restore() {
      athena.restore();
      glue.restore();
      cloudFormation.restore();
    },
  };
}

export type Outcome =
  | { readonly status: 'SUCCESS'; readonly physicalId: string; readonly response: OnEventResponse }
  | { readonly status: 'FAILED'; readonly physicalId: string; readonly reason: string };

const BASE = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/r',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Impressions-dev-Stateful/1',
  ResourceType: 'Custom::IcebergTable',
};

/** One request through the provider framework: on-event, then is-complete until done (at most 20 polls). */
export async function request(
  event:
    | { RequestType: 'Create'; LogicalResourceId: string; ResourceProperties: Record<string, string> }
    | {
        RequestType: 'Update';
        LogicalResourceId: string;
        PhysicalResourceId: string;
        ResourceProperties: Record<string, string>;
        OldResourceProperties: Record<string, string>;
      }
    | {
        RequestType: 'Delete';
        LogicalResourceId: string;
        PhysicalResourceId: string;
        ResourceProperties: Record<string, string>;
      },
): Promise<Outcome> {
  const full = { ...BASE, RequestId: `req-${Math.random()}`, ...event } as CloudFormationCustomResourceEvent;
  if (full.RequestType === 'Delete' && full.PhysicalResourceId === CREATE_FAILED_MARKER) {
    return {
      status: 'SUCCESS',
      physicalId: CREATE_FAILED_MARKER,
      response: { PhysicalResourceId: CREATE_FAILED_MARKER, Data: { Statement: 'keep' } },
    };
  }
  let response: OnEventResponse;
  try {
    response = await onEvent(full);
  } catch (e) {
    const physicalId =
      full.RequestType === 'Create'
        ? CREATE_FAILED_MARKER
        : (full as { PhysicalResourceId: string }).PhysicalResourceId;
    return { status: 'FAILED', physicalId, reason: (e as Error).message };
  }
  for (let poll = 0; poll < 20; poll++) {
    try {
      if ((await isComplete({ ...full, ...response } as never)).IsComplete) {
        return { status: 'SUCCESS', physicalId: response.PhysicalResourceId, response };
      }
    } catch (e) {
      return { status: 'FAILED', physicalId: response.PhysicalResourceId, reason: (e as Error).message };
    }
  }
  return { status: 'FAILED', physicalId: response.PhysicalResourceId, reason: 'timed out' };
}
