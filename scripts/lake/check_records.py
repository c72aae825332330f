"""Runs the delivery stand-in's conversion (lakelib.parse_record + convert_record) on records read from stdin,
one JSON line each: {"table": "impressions", "data": "<the record's bytes as UTF-8 text>"}. Prints one JSON
line per record: {"ok": true, "row": {...}} or {"ok": false, "code": ..., "message": ...}. For tests and for
checking a record by hand against the rules Firehose's Iceberg destination applies."""

from __future__ import annotations

import json
import sys

from lakelib import Refused, convert_record, load_definitions, load_wire_rules, parse_record


def main() -> int:
    definitions_path = sys.argv[1]
    definitions, rules = load_definitions(definitions_path), load_wire_rules(definitions_path)
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        item = json.loads(line)
        try:
            row = convert_record(definitions[item["table"]], parse_record(item["data"].encode(), rules), rules)
            print(json.dumps({"ok": True, "row": row}, default=str), flush=True)
        except Refused as r:
            print(json.dumps({"ok": False, "code": r.code, "message": r.message}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
