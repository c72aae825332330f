/**
 * Functions short enough to read: none in the product's code (the functions in `lambdas/`, the operator tools
 * in `ops/`, the scripts, the benchmarks, the constructs and stacks in `infra/` and `bin/`, the client) is
 * longer than 80 lines, construct constructors aside (a construct's constructor declares its resources in
 * order, as the aws-cdk guidelines write them). The test fakes in `test/support/` are not held to it. A long
 * function is split into named ones over an explicit context (see lambdas/history-store/ for the pattern).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MAX_LINES = 80;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every function (declaration, expression, arrow, method) of a source text longer than `max` lines. */
function longFunctions(file: string, text: string, max = MAX_LINES): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && !ts.isConstructorDeclaration(n) && 'body' in n && n.body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const lines = src.getLineAndCharacterOfPosition(n.end).line - first + 1;
      const name = (n as { name?: ts.Node }).name?.getText(src) ?? '(anonymous)';
      if (lines > max) found.push(`${path.relative(ROOT, file)}:${first + 1} ${name}: ${lines} lines`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

describe('function length', () => {
  it.each(['lambdas', 'ops', 'scripts', 'bench', 'infra', 'bin', 'client'])(
    `no function of %s/ is longer than ${MAX_LINES} lines`,
    (dir) => {
      const long = sources(path.join(ROOT, dir)).flatMap((f) => longFunctions(f, readFileSync(f, 'utf8')));
      expect(long).toEqual([]);
    },
  );

  it('the check finds a long function', () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const x${i} = ${i};`).join('\n');
    expect(longFunctions(path.join(ROOT, 'x.ts'), `function long() {\n${body}\n}\n`)).toEqual([
      `x.ts:1 long: ${MAX_LINES + 2} lines`,
    ]);
    expect(longFunctions(path.join(ROOT, 'x.ts'), 'const short = () => 1;\n')).toEqual([]);
  });
});
