/**
 * What the Iceberg table custom resource reads before it acts: the table as the Glue Data Catalog holds it,
 * and the other resources of its stack that name the same table (CloudFormation). Reading the catalog rather
 * than trusting `OldResourceProperties` is what makes the resource safe under CloudFormation's rollbacks: a
 * rollback sends the old definition as the new one, and only the catalog says what the table really has.
 */
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';

let glue: GlueClient | undefined;
let cloudFormation: CloudFormationClient | undefined;

/** A table as the catalog holds it: what the resource compares with the definition it is asked for. */
export interface CatalogTable {
  readonly location: string;
  /** Columns in the catalog's order, with the catalog's spelling of their type. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The catalog's `table_type` parameter (`ICEBERG` for an Iceberg table). */
  readonly tableType: string | undefined;
}

/** The table, or `undefined` when the catalog has no table of that name (or no such database). */
export async function catalogTable(database: string, name: string): Promise<CatalogTable | undefined> {
  glue ??= new GlueClient({ maxAttempts: 5 });
  try {
    const out = await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }));
    const t = out.Table;
    if (!t) return undefined;
    const params = t.Parameters ?? {};
    const tableType = Object.entries(params).find(([k]) => k.toLowerCase() === 'table_type')?.[1];
    return {
      location: t.StorageDescriptor?.Location ?? '',
      columns: (t.StorageDescriptor?.Columns ?? []).map((c) => ({ name: c.Name ?? '', type: c.Type ?? '' })),
      tableType,
    };
  } catch (e) {
    if ((e as { name?: string }).name === 'EntityNotFoundException') return undefined;
    throw e;
  }
}

/** A resource of a stack: its logical id, physical id, type and status. */
export interface StackResource {
  readonly logicalId: string;
  readonly physicalId: string | undefined;
  readonly type: string;
  readonly status: string;
}

/** Every resource of the stack `stackId` (an ARN), all pages. */
export async function stackResources(stackId: string): Promise<StackResource[]> {
  cloudFormation ??= new CloudFormationClient({ maxAttempts: 5 });
  const out: StackResource[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cloudFormation.send(new ListStackResourcesCommand({ StackName: stackId, NextToken }));
    for (const r of page.StackResourceSummaries ?? []) {
      out.push({
        logicalId: r.LogicalResourceId ?? '',
        physicalId: r.PhysicalResourceId,
        type: r.ResourceType ?? '',
        status: r.ResourceStatus ?? '',
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}
