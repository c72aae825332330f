/**
 * The AWS CloudFormation linter (cfn-lint, pinned in scripts/requirements-cfnlint.txt, installed into
 * .venv-cfnlint/ by the project's scripts) on every template of the default stage, against the resource
 * schemas of every supported region: any error fails the test. It catches what CloudFormation would refuse
 * at deploy time (unknown properties such as the dashboard's Tags in an older region schema, E3002; wrong
 * types; invalid values) before a real deployment does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { resolveStage } from '../../infra/config.js';
import { SUPPORTED_REGIONS } from '../../infra/regions.js';
import { ROOT } from '../../scripts/emulator.js';

const run = promisify(execFile);

interface Finding {
  readonly Level: string;
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path?: readonly (string | number)[] };
}

/** Installs the pinned linter in a child process (pip must not block this worker) and returns its path. */
async function cfnLint(): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./scripts/emulator.ts').then((m) => process.stdout.write(m.ensureCfnLintInstalled()))",
    ],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout.trim();
}

async function lint(bin: string, templates: string[], regions: string[]): Promise<Finding[]> {
  try {
    const { stdout } = await run(bin, ['--format', 'json', '--regions', ...regions, '--', ...templates], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout || '[]') as Finding[];
  } catch (err) {
    // cfn-lint exits non-zero when it reports anything (2 errors, 4 warnings, 8 informational).
    const out = (err as { stdout?: string }).stdout;
    if (!out) throw err;
    return JSON.parse(out) as Finding[];
  }
}

function synthTemplates(dir: string, stage: string, overrides: Parameters<typeof resolveStage>[1] = {}) {
  const app = new App({ outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
  buildApp(app, resolveStage(stage, overrides));
  app.synth();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => path.join(dir, f));
}

const describeFinding = (f: Finding) =>
  `${f.Rule.Id} ${path.basename(f.Filename)} ${(f.Location.Path ?? []).join('/')}: ${f.Message}`;

let bin: string;
let dir: string;
beforeAll(async () => {
  bin = await cfnLint();
  dir = mkdtempSync(path.join(tmpdir(), 'impressions-cfn-lint-'));
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cfn-lint (pinned) on the synthesized templates', () => {
  it(`default stage, and a throwaway stage with alarm subscriptions: no error in any supported region (${Object.keys(SUPPORTED_REGIONS).length} regions)`, async () => {
    const templates = [
      ...synthTemplates(path.join(dir, 'default'), 'dev'),
      ...synthTemplates(path.join(dir, 'throwaway'), 'tmp', {
        retainData: false,
        alarmSubscriptions: ['ops@example.com', 'https://hooks.example.com/alarms'],
      }),
    ];
    expect(templates).toHaveLength(4);
    const findings = await lint(bin, templates, Object.keys(SUPPORTED_REGIONS));
    expect(findings.filter((f) => f.Level === 'Error').map(describeFinding)).toEqual([]);
  }, 400_000);

  it('reports an error when a template breaks a resource schema (the check is live)', async () => {
    const broken = path.join(dir, 'broken.template.json');
    writeFileSync(
      broken,
      JSON.stringify({
        Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: { NotAProperty: true } } },
      }),
    );
    const findings = await lint(bin, [broken], ['us-east-1']);
    expect(findings.filter((f) => f.Level === 'Error').map((f) => f.Rule.Id)).toContain('E3002');
  }, 120_000);
});
