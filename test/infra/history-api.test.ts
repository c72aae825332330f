/**
 * The history API's infrastructure side of "Who may call what" and of its privacy promises: the client
 * role's trust and permissions, the function's allow-lists and rights, and an access log that stores
 * neither the caller's IP nor its identity.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { EMULATOR_DEFAULT_PRINCIPAL, resolveStage } from '../../infra/config.js';
import { routesFor } from '../../lambdas/history-api/api-routes.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const SERVICE = 'arn:aws:iam::123456789012:role/PageConstruction';
const ERASER = 'arn:aws:iam::123456789012:role/PrivacyEraser';
const VENDOR = 'arn:aws:iam::123456789012:role/TokenVendor';

const synth = (stage: string, overrides: Parameters<typeof resolveStage>[1] = {}) =>
  Template.fromStack(buildApp(new App(), resolveStage(stage, overrides), ENV).pipeline);

type Statement = {
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  Resource?: unknown;
  Principal?: unknown;
};

let t: Template;
let clientRole: { id: string; trust: Statement[]; policy: Statement[] };
let fnEnv: Record<string, unknown>;
let fnPolicy: Statement[];

beforeAll(() => {
  t = synth('prod', { apiServices: [SERVICE], apiErasers: [ERASER], clientSessionVendors: [VENDOR] });
  const [id, role] = Object.entries(t.findResources('AWS::IAM::Role')).find(([, r]) =>
    String(r.Properties.Description ?? '').includes('scoped to one profile'),
  )!;
  const policies = Object.values(t.findResources('AWS::IAM::Policy'));
  const of = (match: string) =>
    policies
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(match))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  clientRole = { id, trust: role.Properties.AssumeRolePolicyDocument.Statement, policy: of(id) };
  const fn = Object.values(t.findResources('AWS::Lambda::Function')).find((f) =>
    JSON.stringify(f.Properties.Environment).includes('CURSOR_SECRET_ID'),
  )!;
  fnEnv = fn.Properties.Environment.Variables;
  fnPolicy = of(JSON.stringify(fn.Properties.Role['Fn::GetAtt'][0]).replaceAll('"', ''));
});

describe('the client role', () => {
  it('is trusted only by the named vendors, with a profileId session tag and a session name that names a profile', () => {
    const assume = clientRole.trust.find((s) => s.Action === 'sts:AssumeRole')!;
    expect(assume.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': [VENDOR] },
      StringLike: {
        'aws:RequestTag/profileId': '?*',
        'sts:RoleSessionName': ['p.?*', '?'.repeat(63), '?'.repeat(64)],
      },
    });
    const tag = clientRole.trust.find((s) => s.Action === 'sts:TagSession')!;
    expect(tag.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': [VENDOR] },
      StringLike: { 'aws:RequestTag/profileId': '?*' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['profileId'] },
    });
    // Nothing in the trust policy is unconditional.
    for (const s of clientRole.trust) expect(s.Condition).toBeDefined();
  });

  it('without named vendors, trusts only the stack’s own `-client-vendor` role, never the whole account', () => {
    const trust = Object.values(synth('dev').findResources('AWS::IAM::Role'))
      .map((r) => r.Properties.AssumeRolePolicyDocument.Statement as Statement[])
      .find((s) => JSON.stringify(s).includes('sts:TagSession'))!;
    for (const s of trust) {
      expect(JSON.stringify(s.Condition?.ArnEquals)).toContain('Impressions-dev-Pipeline-client-vendor');
    }
  });

  it('may GET history and frequency and POST check and ingest for its own profile, and never DELETE', () => {
    expect(clientRole.policy).toHaveLength(1);
    const resources = (clientRole.policy[0]!.Resource as unknown[]).map((r) => JSON.stringify(r));
    const routes = resources.map((r) =>
      /\/\$default\/([A-Z*]+)(\/v1\/profiles\/[^"]*)/.exec(r)?.slice(1).join(' '),
    );
    const own = '/v1/profiles/$' + '{aws:PrincipalTag/profileId}'; // an IAM policy variable
    expect(routes.sort()).toEqual([
      `GET ${own}/frequency`,
      `GET ${own}/impressions`,
      `POST ${own}/frequency/check`,
      `POST ${own}/impressions`,
    ]);
  });

  it('is granted exactly the routes the route table allows client sessions (API_ROUTES)', () => {
    const resources = (clientRole.policy[0]!.Resource as unknown[]).map((r) => JSON.stringify(r));
    const granted = resources.map((r) =>
      /\/\$default\/([A-Z*]+)(\/v1\/profiles\/[^"]*)/.exec(r)?.slice(1).join(' '),
    );
    const declared = routesFor('clientSession').map(
      (r) => `${r.method} ${r.path.replace('{profileId}', '$' + '{aws:PrincipalTag/profileId}')}`,
    );
    expect(declared.length).toBeGreaterThan(0);
    expect(granted.sort()).toEqual(declared.sort());
  });
});

describe('the history API function', () => {
  it('is given the client role and the stage’s allow-lists', () => {
    expect(fnEnv).toMatchObject({
      CLIENT_ROLE_ARN: { 'Fn::GetAtt': [clientRole.id, 'Arn'] },
      SERVICE_PRINCIPALS: SERVICE,
      ERASER_PRINCIPALS: ERASER,
    });
  });

  it('may put records on the raw stream only (the ingest route)', () => {
    const kinesis = fnPolicy.filter((s) => JSON.stringify(s.Action).includes('kinesis:'));
    expect(kinesis).toHaveLength(1);
    expect(kinesis[0]!.Action).toBe('kinesis:PutRecords');
    expect(JSON.stringify(kinesis[0]!.Resource)).toMatch(/RawStream/);
    expect(JSON.stringify(kinesis[0]!.Resource)).not.toMatch(/EnrichedStream|RejectedStream/);
    expect(fnEnv.RAW_STREAM_NAME).toBeDefined();
  });

  it('limits ingest per profile with the stage’s burst cap (profileBurstPerWindow)', () => {
    expect(fnEnv.INGEST_EVENTS_PER_WINDOW).toBe(String(resolveStage('prod').profileBurstPerWindow));
    const other = synth('prod', { profileBurstPerWindow: 750 });
    const fn = Object.values(other.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f.Properties.Environment).includes('CURSOR_SECRET_ID'),
    )!;
    expect(fn.Properties.Environment.Variables.INGEST_EVENTS_PER_WINDOW).toBe('750');
  });

  it('on the emulator stage, lets the emulator’s default credentials call every route and vend sessions', () => {
    const config = resolveStage('local', { emulator: true });
    expect(config.apiServices).toEqual([EMULATOR_DEFAULT_PRINCIPAL]);
    expect(config.apiErasers).toEqual([EMULATOR_DEFAULT_PRINCIPAL]);
    expect(config.clientSessionVendors).toEqual([EMULATOR_DEFAULT_PRINCIPAL]);
    // An AWS stage allows nobody by default.
    expect(resolveStage('prod')).toMatchObject({ apiServices: [], apiErasers: [] });
  });
});

describe('the access log', () => {
  it('stores no source IP, no caller identity or session name, and no path (which holds the profile id)', () => {
    const stages = Object.values(t.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const format = stages[0]!.Properties.AccessLogSettings.Format as string;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    for (const leak of ['sourceIp', 'identity.', 'caller', 'user', 'path', 'userAgent', 'authorizer'])
      expect(format).not.toContain(leak);
  });
});
