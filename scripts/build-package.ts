/**
 * Builds what the package ships (`npm pack` runs it as `prepack`): the construct library, the operator CLI,
 * the API client and the functions' code they deploy, as JavaScript in dist/, so that a consumer needs no
 * TypeScript, no tsx and no esbuild, and no path into this repository.
 *   dist/infra, dist/ops, dist/client, dist/lambdas   tsc output with declarations (tsconfig.build.json)
 *   dist/functions/<bundle>/index.js                   each function bundled as synthesis bundles it
 *   dist/ops/measurements.json                         the benchmark figures `impressions cost` prices with
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLING, bundleName, FUNCTION_ENTRIES } from '../infra/constructs/node-function.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
const tsc = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

for (const entry of FUNCTION_ENTRIES)
  buildSync({
    entryPoints: [path.join(ROOT, 'lambdas', entry)],
    outfile: path.join(DIST, 'functions', bundleName(entry), 'index.js'),
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    format: 'cjs',
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    external: BUNDLING.externalModules,
    logLevel: 'warning',
  });

copyFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), path.join(DIST, 'ops', 'measurements.json'));
chmodSync(path.join(DIST, 'ops', 'main.js'), 0o755);
process.stdout.write(`built ${path.relative(process.cwd(), DIST) || DIST}\n`);
