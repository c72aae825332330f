/**
 * IAM, checked on every AWS call the functions make. Three parts:
 *
 * - a recorder (`recordSends`) that wraps an SDK client's (or a client class's) `send` and records each call
 *   as `{ action, resource }`: the IAM action of the command (`dynamodb:PutItem` for lib-dynamodb's
 *   `PutCommand`) and the ARN of the resource it names (TableName / RequestItems, StreamName, SecretId,
 *   WorkGroup; `GetQueryExecution` on the workgroup of the execution it names);
 * - a resolver (`resolvedApp`) that turns the synthesized templates' `Ref`, `Fn::GetAtt`, `Fn::Join`,
 *   `Fn::Sub`, `Fn::Select`, `Fn::Split` and `Fn::ImportValue` (the pipeline stack imports from the stateful
 *   stack) into concrete values for one account and region, with a deterministic physical name per resource;
 * - a check (`deniedCalls`) that evaluates each call against the identity policies of the function's role in
 *   the template (its `AWS::IAM::Policy` resources, inline `Policies` and the known managed policies) with
 *   `@cloud-copilot/iam-simulate`, and returns the calls IAM would refuse.
 *
 * Resource policies are not evaluated (every call is within one account, where an identity policy's Allow
 * suffices unless a resource policy denies; the lake bucket's only one denies requests without TLS).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

export interface AwsCall {
  /** IAM action, e.g. `dynamodb:PutItem`. */
  readonly action: string;
  /** ARN of the resource the call names. */
  readonly resource: string;
}

export interface AwsTarget {
  readonly account: string;
  readonly region: string;
}

type Command = { readonly constructor: { readonly name: string }; readonly input?: unknown };
type Sender = { send: (command: never, ...rest: never[]) => Promise<unknown> };

/** IAM service prefix of each SDK client the functions use. */
export type Service =
  | 'dynamodb'
  | 'kinesis'
  | 'secretsmanager'
  | 'athena'
  | 'glue'
  | 'cloudformation'
  | 'lambda';

/** The stack ARN the resolver gives `AWS::StackId` (CloudFormation's form, with a fixed id suffix). */
export const stackIdOf = ({ account, region }: AwsTarget, stack: string): string =>
  `arn:aws:cloudformation:${region}:${account}:stack/${stack}/00000000-0000-0000-0000-000000000000`;

/** lib-dynamodb's document commands and the DynamoDB operation (IAM action) each sends. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
  TransactGetCommand: 'TransactGetItems',
  TransactWriteCommand: 'TransactWriteItems',
};

export const operationOf = (service: Service, commandName: string): string =>
  (service === 'dynamodb' ? DOCUMENT_COMMANDS[commandName] : undefined) ??
  (service === 'lambda' && commandName === 'InvokeCommand' ? 'InvokeFunction' : undefined) ??
  commandName.replace(/Command$/, '');

/** The ARN of the resource a command names (IAM "Actions, resources, and condition keys" per service). */
export function resourceOf(
  service: Service,
  operation: string,
  input: Record<string, unknown>,
  target: AwsTarget,
  workGroupOf: (queryExecutionId: string) => string | undefined,
): string[] {
  const { account, region } = target;
  switch (service) {
    case 'dynamodb': {
      const tables = input.TableName
        ? [String(input.TableName)]
        : Object.keys((input.RequestItems ?? {}) as Record<string, unknown>);
      return tables.map((t) => `arn:aws:dynamodb:${region}:${account}:table/${t}`);
    }
    case 'kinesis':
      return [
        input.StreamARN
          ? String(input.StreamARN)
          : `arn:aws:kinesis:${region}:${account}:stream/${String(input.StreamName)}`,
      ];
    case 'secretsmanager': {
      const id = String(input.SecretId);
      return [id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${region}:${account}:secret:${id}-??????`];
    }
    case 'athena': {
      const wg =
        operation === 'StartQueryExecution'
          ? String(input.WorkGroup ?? 'primary')
          : (workGroupOf(String(input.QueryExecutionId)) ?? 'unknown-query-execution');
      return [`arn:aws:athena:${region}:${account}:workgroup/${wg}`];
    }
    case 'glue': {
      // A Glue action on a table is authorized on the catalog, the database and the table (Glue developer
      // guide, "Specifying AWS Glue resource ARNs", "Access control for data catalog resources").
      const glue = (r: string) => `arn:aws:glue:${region}:${account}:${r}`;
      const db = String(input.DatabaseName);
      const tables = input.Name ? [glue(`table/${db}/${String(input.Name)}`)] : [];
      return [glue('catalog'), glue(`database/${db}`), ...tables];
    }
    case 'lambda': {
      // lambda:InvokeFunction on the function the call names (its name or ARN; Invoke's IAM action is InvokeFunction).
      const fn = String(input.FunctionName);
      return [fn.startsWith('arn:') ? fn : `arn:aws:lambda:${region}:${account}:function:${fn}`];
    }
    case 'cloudformation': {
      const stack = String(input.StackName);
      return [
        stack.startsWith('arn:') ? stack : `arn:aws:cloudformation:${region}:${account}:stack/${stack}/*`,
      ];
    }
  }
}

/** The calls recorded, and what the recorder learnt (the workgroup of each query execution). */
export function callRecorder(target: AwsTarget) {
  const calls = new Map<string, AwsCall[]>();
  const workGroups = new Map<string, string>();
  let current = 'unattributed';
  const record = (service: Service, command: Command, output: unknown) => {
    const operation = operationOf(service, command.constructor.name);
    const input = (command.input ?? {}) as Record<string, unknown>;
    const list = calls.get(current) ?? [];
    calls.set(current, list);
    for (const resource of resourceOf(service, operation, input, target, (id) => workGroups.get(id)))
      list.push({ action: `${service}:${operation}`, resource });
    const id = (output as { QueryExecutionId?: string } | undefined)?.QueryExecutionId;
    if (operation === 'StartQueryExecution' && id) workGroups.set(id, String(input.WorkGroup));
  };
  return {
    calls,
    /** Attributes the calls made while `run` runs to `fn` (the functions run one at a time). */
    async as<T>(fn: string, run: () => Promise<T>): Promise<T> {
      const before = current;
      current = fn;
      try {
        return await run();
      } finally {
        current = before;
      }
    },
    /**
     * Wraps `target.send` (an SDK client, or a client class's prototype mocked by aws-sdk-client-mock) so
     * that each call is recorded, then answered by `forward` (default: the `send` it replaces). A call is
     * recorded whether it succeeds or fails (IAM is checked before the service answers).
     */
    recordSends(on: Sender, service: Service, forward?: Sender['send']): () => void {
      const original = on.send;
      const next = forward ?? original;
      const wrapped = async function (this: unknown, command: Command, ...rest: unknown[]) {
        let output: unknown;
        try {
          output = await (next as (...a: unknown[]) => Promise<unknown>).call(this, command, ...rest);
          return output;
        } finally {
          record(service, command, output);
        }
      };
      on.send = wrapped as unknown as Sender['send'];
      return () => {
        on.send = original;
      };
    },
    /** Adds calls that a service makes with the function's credentials (see the test's table). */
    add(fn: string, more: readonly AwsCall[]) {
      calls.set(fn, [...(calls.get(fn) ?? []), ...more]);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Templates → concrete values

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON
type Json = any;
export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Json }>;
  Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

const SERVICE_OF_TYPE: Record<string, string> = {
  'AWS::Kinesis::Stream': 'kinesis',
  'AWS::DynamoDB::GlobalTable': 'dynamodb',
  'AWS::DynamoDB::Table': 'dynamodb',
  'AWS::S3::Bucket': 's3',
  'AWS::SecretsManager::Secret': 'secretsmanager',
  'AWS::IAM::Role': 'iam',
  'AWS::Lambda::Function': 'lambda',
  'AWS::SQS::Queue': 'sqs',
  'AWS::StepFunctions::StateMachine': 'states',
  'AWS::Athena::WorkGroup': 'athena',
  'AWS::Glue::Database': 'glue',
  'AWS::Logs::LogGroup': 'logs',
};

/** A resolver of one stack's template, with the other stacks' exports. */
export function resolvedApp(stacks: Record<string, TemplateJson>, target: AwsTarget) {
  const { account, region } = target;
  const exports = new Map<string, { stack: string; value: Json }>();
  for (const [stack, t] of Object.entries(stacks))
    for (const o of Object.values(t.Outputs ?? {}))
      if (o.Export) exports.set(String(resolve(stack, o.Export.Name)), { stack, value: o.Value });

  /** A deterministic physical name: what CloudFormation would generate (stack-logicalId-suffix). */
  function physicalName(stack: string, id: string): string {
    const r = stacks[stack]!.Resources[id]!;
    const p = r.Properties ?? {};
    const named = p.Name ?? p.DatabaseInput?.Name ?? p.TableName ?? p.StreamName ?? p.BucketName;
    if (named !== undefined) return String(resolve(stack, named));
    const name = `${stack}-${id}-SUFFIX`;
    return r.Type === 'AWS::S3::Bucket' ? name.toLowerCase() : name;
  }

  function arnOf(stack: string, id: string): string {
    const r = stacks[stack]!.Resources[id];
    if (!r) throw new Error(`${stack}: no resource ${id}`);
    const name = physicalName(stack, id);
    const service = SERVICE_OF_TYPE[r.Type];
    switch (r.Type) {
      case 'AWS::Kinesis::Stream':
        return `arn:aws:kinesis:${region}:${account}:stream/${name}`;
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
      default:
        throw new Error(`${stack}: no ARN rule for ${r.Type} (${id}, ${service ?? 'unknown service'})`);
    }
  }

  function ref(stack: string, id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': account,
      'AWS::Region': region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
      'AWS::StackId': stackIdOf(target, stack),
      'AWS::NoValue': '',
    };
    if (id in pseudo) return pseudo[id]!;
    const r = stacks[stack]!.Resources[id];
    if (!r) throw new Error(`${stack}: Ref to unknown ${id}`);
    // Resources whose Ref is their ARN (CloudFormation resource reference, "Return values").
    if (['AWS::SecretsManager::Secret', 'AWS::StepFunctions::StateMachine'].includes(r.Type))
      return arnOf(stack, id);
    if (r.Type === 'AWS::SQS::Queue')
      return `https://sqs.${region}.amazonaws.com/${account}/${physicalName(stack, id)}`;
    return physicalName(stack, id);
  }

  function getAtt(stack: string, id: string, attr: string): string {
    if (attr === 'Arn') return arnOf(stack, id);
    if (attr === 'RoleId') return `AROA${id.slice(0, 12).toUpperCase()}`;
    throw new Error(`${stack}: no rule for Fn::GetAtt ${id}.${attr}`);
  }

  function resolve(stack: string, v: Json): Json {
    if (Array.isArray(v)) return v.map((x) => resolve(stack, x));
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const a = v[k];
      switch (k) {
        case 'Ref':
          return ref(stack, a);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(a) ? a : String(a).split('.');
          return getAtt(stack, id, attr);
        }
        case 'Fn::Join':
          return (resolve(stack, a[1]) as Json[]).join(a[0]);
        case 'Fn::Select':
          return (resolve(stack, a[1]) as Json[])[Number(resolve(stack, a[0]))];
        case 'Fn::Split':
          return String(resolve(stack, a[1])).split(a[0]);
        case 'Fn::ImportValue': {
          const name = String(resolve(stack, a));
          const e = exports.get(name);
          if (!e) throw new Error(`${stack}: no export ${name}`);
          return resolve(e.stack, e.value);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(a) ? a : [a, {}];
          return String(text).replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in vars) return String(resolve(stack, vars[name]));
            const [id, attr] = name.split('.');
            return attr ? getAtt(stack, id!, attr) : ref(stack, id!);
          });
        }
      }
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(stack, x)]));
  }

  return { resolve, ref, arnOf, exports };
}

// ---------------------------------------------------------------------------------------------------------
// The check

/**
 * AWS managed policies the functions' roles carry, as published (AWS Managed Policy Reference). Only the
 * ones the app attaches; another one fails the check until its document is added here.
 */
export const MANAGED_POLICIES: Record<string, Json> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};

export interface FunctionRole {
  /** The function's logical id in its stack. */
  readonly functionId: string;
  readonly roleId: string;
  readonly roleArn: string;
  /** Its environment, resolved. */
  readonly environment: Record<string, string>;
  readonly policies: { name: string; policy: Json }[];
}

/** The role of the function `functionId` of `stack` and every identity policy attached to it, resolved. */
export function functionRole(
  stacks: Record<string, TemplateJson>,
  stack: string,
  functionId: string,
  target: AwsTarget,
): FunctionRole {
  const app = resolvedApp(stacks, target);
  const t = stacks[stack]!;
  const fn = t.Resources[functionId];
  if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`${stack}: ${functionId} is not a function`);
  const roleRef = fn.Properties.Role;
  const roleId: string = roleRef['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`${functionId}: role is not a role of the stack (${JSON.stringify(roleRef)})`);
  const role = t.Resources[roleId]!;
  const policies: { name: string; policy: Json }[] = [];
  for (const arn of app.resolve(stack, role.Properties.ManagedPolicyArns ?? []) as string[]) {
    const doc = MANAGED_POLICIES[arn];
    if (!doc) throw new Error(`${roleId}: managed policy ${arn} is not known to the check`);
    policies.push({ name: arn, policy: doc });
  }
  for (const p of role.Properties.Policies ?? [])
    policies.push({ name: p.PolicyName, policy: app.resolve(stack, p.PolicyDocument) });
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = (r.Properties.Roles ?? []) as Json[];
    if (roles.some((x) => x?.Ref === roleId))
      policies.push({ name: id, policy: app.resolve(stack, r.Properties.PolicyDocument) });
  }
  const environment = app.resolve(stack, fn.Properties.Environment?.Variables ?? {}) as Record<
    string,
    string
  >;
  return { functionId, roleId, roleArn: app.arnOf(stack, roleId), environment, policies };
}

export interface DeniedCall extends AwsCall {
  readonly result: string;
}

/** The calls (deduplicated) that the role's identity policies do not allow, with the simulator's result. */
export async function deniedCalls(role: FunctionRole, calls: readonly AwsCall[]): Promise<DeniedCall[]> {
  const unique = [...new Map(calls.map((c) => [`${c.action} ${c.resource}`, c])).values()];
  const denied: DeniedCall[] = [];
  const account = role.roleArn.split(':')[4]!;
  for (const call of unique) {
    const out = await runSimulation(
      {
        request: {
          principal: role.roleArn,
          action: call.action,
          resource: { resource: call.resource, accountId: account },
          contextVariables: {},
        },
        identityPolicies: role.policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (out.resultType === 'error') {
      denied.push({ ...call, result: `simulation error: ${JSON.stringify(out.errors)}` });
      continue;
    }
    if (out.overallResult !== 'Allowed') denied.push({ ...call, result: out.overallResult });
  }
  return denied;
}
