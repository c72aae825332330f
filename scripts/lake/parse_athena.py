"""Parses SQL statements as Athena reads them, with sqlglot's `athena` dialect.

Athena runs DDL (CREATE TABLE, ALTER TABLE ... ADD COLUMNS, DROP TABLE) on its Hive-style engine and DML
(SELECT, DELETE) on Trino; sqlglot's `athena` dialect routes each statement to the matching parser the same
way. Reads a JSON list of statements on stdin and writes a JSON list with one result per statement on
stdout: `{"ok": true, "kind": "Select", "sql": <the statement as sqlglot prints it back>}` or
`{"ok": false, "error": <why>}`.

A statement counts as parsed only when it is exactly one statement, parsed with `ErrorLevel.RAISE`, and is
not an `exp.Command` (sqlglot's pass-through for statements it does not understand, which checks nothing).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

DIALECT = "athena"


def check(sql: Any) -> dict[str, Any]:
    if not isinstance(sql, str) or not sql.strip():
        return {"ok": False, "error": "not a non-empty string"}
    try:
        parsed = [e for e in sqlglot.parse(sql, read=DIALECT, error_level=ErrorLevel.RAISE) if e is not None]
    except SqlglotError as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    if len(parsed) != 1:
        return {"ok": False, "error": f"expected one statement, got {len(parsed)}"}
    (tree,) = parsed
    if isinstance(tree, exp.Command):
        return {"ok": False, "error": f"not understood (passed through as a command): {tree.this}"}
    return {"ok": True, "kind": type(tree).__name__, "sql": tree.sql(dialect=DIALECT)}


def main() -> int:
    statements = json.load(sys.stdin)
    if not isinstance(statements, list):
        print("stdin must be a JSON list of statements", file=sys.stderr)
        return 2
    json.dump([check(s) for s in statements], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
