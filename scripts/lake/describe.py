"""Prints the local lake tables' Iceberg schema and partition spec as the catalog has them (JSON), so tests can
compare them with the CDK Glue table definitions generated from the same source."""

from __future__ import annotations

import argparse
import json
import sys

from lakelib import LAKE_TABLES, catalog, env_region


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--database", required=True)
    args = ap.parse_args()
    cat = catalog(args.endpoint, env_region())
    out = {}
    for name in LAKE_TABLES:
        t = cat.load_table((args.database, name))
        out[name] = {
            "formatVersion": t.metadata.format_version,
            "location": t.location(),
            "schema": json.loads(t.schema().model_dump_json()),
            "partitionSpec": json.loads(t.spec().model_dump_json()),
            "snapshots": len(t.metadata.snapshots),
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
