/** The operations tools' shared command line: arguments, the deployment they work on, and Athena on AWS (the
 * history settings read from a synthesized stack: ops-cli.synth.test.ts). */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Deployment, findDeployment, stageOf } from '../../ops/deployment.js';
import { CliError, numberOption, parseCli, profilesOption, timeRange } from '../../ops/kit.js';
import { lakeQuery } from '../../ops/lake-query.js';

describe('arguments', () => {
  it('refuses unknown options and bad values with exit code 2', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof CliError ? e.code : -1;
      }
      return 0;
    };
    const spec = { command: 'impressions x', description: 'x', options: {} };
    expect(code(() => parseCli(spec, ['--bogus']))).toBe(2);
    expect(code(() => numberOption('1.5', 'limit', 1, 10))).toBe(2);
    expect(code(() => numberOption('11', 'limit', 1, 10))).toBe(2);
    expect(code(() => timeRange({ from: 'last tuesday' }))).toBe(2);
    // Read by the domain's strict parser: Date.parse would take these as 2 March and as a local time.
    expect(code(() => timeRange({ from: '2026-02-30' }))).toBe(2);
    expect(code(() => timeRange({ from: '2026-11-26T18:00' }))).toBe(2);
    expect(code(() => timeRange({}))).toBe(2);
    expect(code(() => timeRange({ from: '2026-11-26', to: '2026-11-25' }))).toBe(2);
    expect(code(() => profilesOption(['ok', 'new\nline']))).toBe(2);
    // The contract's profile id, as the API and erasure check it: 65 characters or a dot is no profile id.
    expect(code(() => profilesOption(['x'.repeat(65)]))).toBe(2);
    expect(code(() => profilesOption(['a.b']))).toBe(2);
    expect(profilesOption(['x'.repeat(64), 'p_1-2'])).toEqual(['x'.repeat(64), 'p_1-2']);
    expect(code(() => stageOf({ stage: 'Bad Stage' }))).toBe(2);
    expect(code(() => stageOf({ stack: 'Bad Stage' }))).toBe(2);
    expect(code(() => stageOf({ stage: 'prod', stack: 'Impressions-prod-Pipeline' }))).toBe(2);
  });

  it('reads dates as UTC midnight and times as given', () => {
    expect(timeRange({ from: '2026-11-26', to: '2026-11-26T18:00:00+01:00' })).toEqual({
      fromMs: Date.parse('2026-11-26T00:00:00Z'),
      toMs: Date.parse('2026-11-26T17:00:00Z'),
    });
  });

  it('names the stage from either stack name or the stage', () => {
    expect(stageOf({ stack: 'Impressions-prod-Pipeline' })).toBe('prod');
    expect(stageOf({ stack: 'Impressions-prod-Stateful' })).toBe('prod');
    expect(stageOf({ stage: 'prod' })).toBe('prod');
    expect(stageOf({})).toBeUndefined();
  });
});

describe('the deployment', () => {
  const region = process.env.AWS_REGION;
  afterEach(() => {
    if (region === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = region;
  });

  it('is an error naming what to do when there is no local session', async () => {
    await expect(findDeployment({ session: '/nonexistent/session.json' })).rejects.toThrow(/npm start/);
  });

  it('needs a region for --stack', async () => {
    delete process.env.AWS_REGION;
    const dflt = process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    await expect(findDeployment({ stage: 'prod' })).rejects.toThrow(/AWS_REGION/);
    if (dflt !== undefined) process.env.AWS_DEFAULT_REGION = dflt;
  });
});

describe('Athena on a real deployment', () => {
  const athena = mockClient(AthenaClient);
  afterEach(() => athena.reset());
  afterAll(() => athena.restore());
  const d: Deployment = {
    kind: 'aws',
    stage: 'prod',
    region: 'eu-west-1',
    outputs: { GlueDatabaseName: 'lake_db', AthenaWorkGroupName: 'wg' } as Deployment['outputs'],
    pipelineStack: 'Impressions-prod-Pipeline',
    clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } },
    label: 'test',
  };

  it('runs in the workgroup and database of the stack outputs, quotes parameters, and skips the header row once', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    const cols = {
      ColumnInfo: [
        { Name: 'reason', Type: 'varchar' },
        { Name: 'n', Type: 'bigint' },
      ],
    };
    const row = (a: string, b: string) => ({ Data: [{ VarCharValue: a }, { VarCharValue: b }] });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: undefined })
      .resolves({
        ResultSet: { ResultSetMetadata: cols, Rows: [row('reason', 'n'), row('time.future', '3')] },
        NextToken: 't2',
      })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: 't2' })
      .resolves({ ResultSet: { ResultSetMetadata: cols, Rows: [row('decode.not-json', '1')] } });
    const rows = await lakeQuery(d)('SELECT reason, n FROM t WHERE p = ? AND q = ?', ["it's", '2026-11-26']);
    expect(rows).toEqual([
      { reason: 'time.future', n: '3' },
      { reason: 'decode.not-json', n: '1' },
    ]);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryString: 'SELECT reason, n FROM t WHERE p = ? AND q = ?',
      WorkGroup: 'wg',
      QueryExecutionContext: { Database: 'lake_db' },
      ExecutionParameters: ["'it''s'", "'2026-11-26'"],
    });
  }, 10_000);

  it('turns a failed query into a one-line error with Athena’s reason', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q2' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND' } } });
    await expect(lakeQuery(d)('SELECT 1')).rejects.toThrow(
      new CliError('Athena query q2 failed: TABLE_NOT_FOUND'),
    );
  });
});
