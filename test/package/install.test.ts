/**
 * The package as a team installs it: `npm pack` (which builds it), the tarball installed into a scratch CDK app
 * in a temporary directory, nothing of this repository on its paths. There the pipeline is composed with a few
 * props and synthesized by plain Node.js (no tsx, no esbuild), and the template must hold the same resources
 * as this repository's app for the same settings; `npx impressions --help` and a tool's `--help` run from the
 * install; and a client program type-checks against the installed `impressions/client`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { runToEnd } from '../support/child-process.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SCRATCH = mkdtempSync(path.join(tmpdir(), 'impressions-consumer-'));
const version = (name: string) =>
  (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

/** The consumer's app: plain JavaScript, as a team writes it in its own CDK app. */
const APP = `
import { App, Duration } from 'aws-cdk-lib';
import { ImpressionsPipeline } from 'impressions';
const app = new App({ outdir: process.argv[2] });
new ImpressionsPipeline(app, 'Impressions', {
  stage: 'pack',
  env: { account: '123456789012', region: 'eu-west-1' },
  peakEventsPerSecond: 20000,
  historyRetention: Duration.days(14),
  settings: { 'consumer.batchSize': 200 },
});
app.synth();
`;

/** Runs a command without blocking the test worker (an install takes minutes). */
const run = (cmd: string, args: readonly string[], cwd = SCRATCH) =>
  runToEnd(cmd, args, {
    cwd,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', npm_config_update_notifier: 'false' },
  });

/** Resource logical id → type, per stack name, of a cloud assembly directory. */
function resourcesOf(dir: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.template.json'))) {
    const t = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { properties?: { templateFile?: string; stackName?: string } }>;
    };
    const name = Object.values(manifest.artifacts).find((a) => a.properties?.templateFile === f)?.properties
      ?.stackName;
    out[name ?? f] = Object.fromEntries(Object.entries(t.Resources).map(([id, r]) => [id, r.Type]));
  }
  return out;
}

describe('the packed package, installed into a scratch CDK app', () => {
  beforeAll(async () => {
    // npm pack runs the package build (prepack): dist/ with the functions bundled.
    const packed = await run('npm', ['pack', '--pack-destination', SCRATCH, '--silent'], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = path.join(SCRATCH, packed.stdout.trim().split('\n').at(-1)!);
    writeFileSync(
      path.join(SCRATCH, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const installed = await run('npm', [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      tarball,
      `aws-cdk-lib@${version('aws-cdk-lib')}`,
      `constructs@${version('constructs')}`,
      `cdk-nag@${version('cdk-nag')}`,
      `@types/node@${version('@types/node')}`,
    ]);
    expect(installed.code, installed.stderr).toBe(0);
  }, 900_000);

  it('composes the pipeline with a few props and synthesizes the resources of this repository’s app for the same settings', async () => {
    writeFileSync(path.join(SCRATCH, 'app.mjs'), APP);
    const out = path.join(SCRATCH, 'cdk.out');
    const synth = await run(process.execPath, ['app.mjs', out]);
    expect(synth.code, synth.stderr).toBe(0);
    const theirs = resourcesOf(out);

    const ours = new App({ outdir: mkdtempSync(path.join(tmpdir(), 'impressions-ours-')) });
    const config = resolveStage('pack', {
      peakEventsPerSecond: 20000,
      historyRetentionDays: 14,
      consumer: { batchSize: 200 },
    });
    const { stateful, pipeline } = buildApp(ours, config, { account: '123456789012', region: 'eu-west-1' });
    const mine = {
      [stateful.stackName]: Template.fromStack(stateful).toJSON().Resources,
      [pipeline.stackName]: Template.fromStack(pipeline).toJSON().Resources,
    } as Record<string, Record<string, { Type: string }>>;
    const expected = Object.fromEntries(
      Object.entries(mine).map(([s, rs]) => [
        s,
        Object.fromEntries(Object.entries(rs).map(([id, r]) => [id, r.Type])),
      ]),
    );
    expect(Object.keys(theirs).sort()).toEqual(['Impressions-pack-Pipeline', 'Impressions-pack-Stateful']);
    expect(theirs).toEqual(expected);
    // The functions deploy the bundles built into the package, not sources.
    const fns = Object.values(
      (
        JSON.parse(
          readFileSync(
            path.join(
              out,
              `${readdirSync(out).find((f) => f.includes('Pipeline') && f.endsWith('.template.json'))}`,
            ),
            'utf8',
          ),
        ) as {
          Resources: Record<string, { Type: string; Properties: { Handler?: string } }>;
        }
      ).Resources,
    ).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler?.startsWith('index.'));
    expect(fns.length).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('runs the operator CLI: npx impressions --help and a tool’s --help', async () => {
    const help = await run('npx', ['--no-install', 'impressions', '--help']);
    expect(help.code, help.stderr).toBe(0);
    for (const tool of ['redrive', 'reprocess', 'rebuild-history', 'erase', 'seed', 'query', 'cost'])
      expect(help.stdout).toContain(`  ${tool} `);
    const redrive = await run('npx', ['--no-install', 'impressions', 'redrive', '--help']);
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toMatch(/^Usage: impressions redrive \[options\]/);
    expect(redrive.stdout).toContain('--stage <name>');
    // A tool that needs the local lake says where it runs, in one line.
    const query = await run('npx', [
      '--no-install',
      'impressions',
      'query',
      'SELECT 1',
      '--session',
      path.join(SCRATCH, 'none.json'),
    ]);
    expect(query.code).toBe(1);
    expect(query.stderr.trim().split('\n')).toHaveLength(1);
    const cost = await run('npx', ['--no-install', 'impressions', 'cost']);
    expect(cost.code, cost.stderr).toBe(0);
    expect(cost.stdout).toMatch(/measured figures: .*measurements\.json/);
  }, 300_000);

  it('type-checks a client program against the installed impressions/client', async () => {
    const program = readFileSync(path.join(ROOT, 'test', 'types', 'client-program.ts'), 'utf8').replace(
      "'../../client/index.js'",
      "'impressions/client'",
    );
    expect(program).toContain("from 'impressions/client'");
    mkdirSync(path.join(SCRATCH, 'src'), { recursive: true });
    writeFileSync(path.join(SCRATCH, 'src', 'client-program.ts'), program);
    writeFileSync(
      path.join(SCRATCH, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const checked = await run(tsc, ['-p', 'tsconfig.json']);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  }, 300_000);
});
