"""Bytes per impression of the lake's Parquet (zstd, as the tables are configured) against JSON lines, for
enriched records read from a JSON-lines file. Prints one JSON object."""

from __future__ import annotations

import json
import os
import sys
import tempfile

import pyarrow.parquet as pq
from lakelib import convert_record, load_definitions, load_wire_rules, schema_of, to_arrow


def main() -> int:
    records_path, definitions_path = sys.argv[1], sys.argv[2]
    defn = load_definitions(definitions_path)["impressions"]
    rules = load_wire_rules(definitions_path)
    with open(records_path, encoding="utf-8") as f:
        records = [convert_record(defn, json.loads(line), rules) for line in f if line.strip()]
    table = to_arrow(defn, schema_of(defn), records)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "part.parquet")
        pq.write_table(table, path, compression="zstd", row_group_size=len(records))
        parquet = os.path.getsize(path)
    json_bytes = os.path.getsize(records_path)
    print(json.dumps({"rows": len(records), "parquetBytes": parquet, "jsonBytes": json_bytes,
                      "parquetBytesPerImpression": parquet / len(records), "jsonBytesPerImpression": json_bytes / len(records)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
