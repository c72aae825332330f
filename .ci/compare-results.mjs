// Compares two vitest JSON reports: every test of the shifted run must have the result it had in the normal run.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [normalPath, shiftedPath, label] = process.argv.slice(2);
const results = (path) => {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const byTest = new Map();
  for (const file of report.testResults) {
    for (const t of file.assertionResults) {
      // Names that print generated values (UUIDs) differ between runs: compare them with those values masked.
      const name = t.fullName.replace(
        /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
        '<uuid>',
      );
      byTest.set(`${relative(process.cwd(), file.name)} > ${name}`, t.status);
    }
  }
  return byTest;
};
const normal = results(normalPath);
const shifted = results(shiftedPath);
if (shifted.size === 0) {
  console.error(`clock at ${label}: no test ran`);
  process.exit(1);
}
const differ = [];
for (const [name, status] of shifted) {
  const before = normal.get(name);
  if (before === undefined) differ.push(`${name}: ${status} (not in the normal run)`);
  else if (before !== status) differ.push(`${name}: ${status} (normal run: ${before})`);
}
if (differ.length > 0) {
  console.error(
    `clock at ${label}: ${differ.length} test(s) differ from the normal run:\n  ${differ.join('\n  ')}`,
  );
  process.exit(1);
}
console.log(`clock at ${label}: ${shifted.size} tests, each as in the normal run`);
