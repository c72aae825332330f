"""SQL over the local Iceberg tables with DuckDB and its Iceberg extension (installed from PyPI, no download).

`impressions` and `impressions_rejected` are usable by name: each is a view over the table's current
snapshot, found through the emulator's Glue catalog exactly as Athena finds it. `?` parameters are bound
from --param (in order). Erasure is not a query: it is `npm run erase` (scripts/lake/erase.py locally).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import duckdb
import duckdb_ext  # the extension files installed by the duckdb-ext-* packages
from lakelib import LAKE_TABLES as TABLES
from lakelib import aws_client, env_region


def connect(endpoint: str, region: str, database: str) -> duckdb.DuckDBPyConnection:
    ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": False})
    con.execute("LOAD iceberg; LOAD httpfs; SET TimeZone = 'UTC';")
    host = endpoint.split("://", 1)[-1]
    con.execute(
        f"CREATE SECRET lake (TYPE S3, KEY_ID 'test', SECRET 'test', ENDPOINT '{host}', "
        f"URL_STYLE 'path', USE_SSL {'true' if endpoint.startswith('https') else 'false'}, REGION '{region}')"
    )
    glue = aws_client("glue", endpoint, region)
    for name in TABLES:
        params = glue.get_table(DatabaseName=database, Name=name)["Table"].get("Parameters") or {}
        loc = params.get("metadata_location")
        if loc:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM iceberg_scan('{loc}')")
        else:
            raise ValueError(f"{name} has no Iceberg metadata yet: start the local delivery (npm start) first")
    return con


def run(endpoint: str, region: str, database: str, sql: str, params: list[str]) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = connect(endpoint, region, database)
    rel = con.execute(sql, params) if params else con.execute(sql)
    cols = [d[0] for d in rel.description or []]
    return cols, rel.fetchall()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sql", nargs="?", help="the SQL to run")
    ap.add_argument("--file", help="read the SQL from this file")
    ap.add_argument("--param", action="append", default=[], help="a value for the next ? placeholder")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--database", required=True)
    ap.add_argument("--json", action="store_true", help="print rows as JSON objects (one per line)")
    args = ap.parse_args()
    if bool(args.sql) == bool(args.file):
        print("give the SQL either as an argument or with --file", file=sys.stderr)
        return 2
    sql = open(args.file, encoding="utf-8").read() if args.file else args.sql
    try:
        cols, rows = run(args.endpoint, env_region(), args.database, sql, args.param)
    except (duckdb.Error, ValueError) as exc:
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. the emulator went away: one line, not a traceback
        first = (str(exc).splitlines() or [""])[0]
        print(f"query failed: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    if args.json:
        for r in rows:
            print(json.dumps(dict(zip(cols, r)), default=str))
        return 0
    widths = [max(len(c), *(len(str(v)) for v in col)) if rows else len(c) for c, col in zip(cols, zip(*rows) if rows else [[]] * len(cols))]
    widths = [min(w, 60) for w in widths]
    line = "+".join("-" * (w + 2) for w in widths)
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print(line)
    for r in rows:
        print(" | ".join(str(v)[:60].ljust(w) for v, w in zip(r, widths)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
