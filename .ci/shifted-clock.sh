#!/usr/bin/env bash
# The unit, handler and fault tests (test/unit, test/handlers, test/faults: the unit and faults projects, and the
# synth project's *.synth / *.process files of test/unit) once more with the process clock moved
# (test/support/shifted-clock.ts): far ahead and across a UTC midnight at the end of a leap day, then across the
# end of a century's last year. Fails when any test's result differs from the normal run's (the JSON report
# given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
normal=${1:?usage: .ci/shifted-clock.sh <normal run JSON report>}
status=0
for at in 2028-02-29T23:59:58Z 2099-12-31T23:59:58Z; do
  out=.local/test-results-$at.json
  echo "unit and handler tests with the clock at $at"
  IMPRESSIONS_TEST_NOW=$at npx vitest run --project unit --project faults --project synth \
    test/unit test/handlers test/faults \
    --reporter=dot --reporter=json --outputFile.json="$out" || true
  node .ci/compare-results.mjs "$normal" "$out" "$at" || status=1
done
exit $status
