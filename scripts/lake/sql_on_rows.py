"""Runs lake SQL on DuckDB over rows given on stdin, converted exactly as the local delivery converts them
(`lakelib.convert_record`, `to_arrow`), under the lake's table names: the local engine's answer to a query
without an emulator, for tests of SQL on data with planted defects.

stdin: one JSON object per line, `{"table": "impressions" | "impressions_rejected", "row": <wire record>}`.
argv: the definitions file, then a JSON list of `{"sql": ..., "params": [...]}`. Prints a JSON list with the
rows of each statement (objects by column name; timestamps as ISO strings)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from typing import Any

import duckdb
from lakelib import convert_record, load_definitions, load_wire_rules, schema_of, to_arrow


def plain(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if hasattr(v, "__float__") and not isinstance(v, (int, float, bool)):
        return float(v)
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("definitions")
    ap.add_argument("statements")
    args = ap.parse_args()
    defs, rules = load_definitions(args.definitions), load_wire_rules(args.definitions)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in sys.stdin:
        if line.strip():
            item = json.loads(line)
            rows[item["table"]].append(convert_record(defs[item["table"]], item["row"], rules))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, defn in defs.items():
        arrow = to_arrow(defn, schema_of(defn), rows.get(name, []))
        con.register(f"{name}_rows", arrow)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_rows")
    out = []
    for s in json.loads(args.statements):
        cur = con.execute(s["sql"], s.get("params", []))
        cols = [d[0] for d in cur.description]
        out.append([{c: plain(v) for c, v in zip(cols, r)} for r in cur.fetchall()])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
