"""Shows which data files an Iceberg scan plans for a filter: a throwaway `impressions` table (same schema and
partition spec as the lake's) in a temporary directory, filled with the wire records read from stdin (one JSON
object per line, converted as the delivery stand-in converts them, one append per day as deliveries commit),
then planned with pyiceberg for each filter given as an argument (pyiceberg row-filter syntax).

Prints one JSON object: for each filter, the partition filter Iceberg derives from it (its projection onto
`day(event_time)`), the files whose partition passes that filter (pruning by partition alone, what any engine
gets without column statistics), the files finally planned, and the days those files hold."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections import defaultdict
from typing import Any

from lakelib import convert_record, load_definitions, load_wire_rules, partition_spec_of, schema_of, to_arrow
from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.expressions.visitors import expression_evaluator, inclusive_projection
from pyiceberg.io import load_file_io
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table

EPOCH_DAY = dt.date(1970, 1, 1)


class DirectoryCatalog(MetastoreCatalog):
    """The least catalog that can create, load and commit tables in a local directory (no database needed)."""

    def __init__(self, warehouse: str) -> None:
        super().__init__("local", warehouse=warehouse)
        self.locations: dict[tuple[str, ...], str] = {}

    def create_table(self, identifier: Any, schema: Any, location: Any = None, partition_spec: Any = None, sort_order: Any = None, properties: Any = None) -> Table:  # noqa: E501
        staged = self._create_staged_table(identifier, schema, location, partition_spec, properties={"format-version": "2"})
        self._write_metadata(staged.metadata, staged.io, staged.metadata_location)
        self.locations[tuple(identifier)] = staged.metadata_location
        return self.load_table(identifier)

    def load_table(self, identifier: Any) -> Table:
        loc = self.locations[tuple(identifier)]
        io = load_file_io(self.properties, loc)
        return Table(tuple(identifier), FromInputFile.table_metadata(io.new_input(loc)), loc, io, self)

    def commit_table(self, table: Table, requirements: Any, updates: Any) -> CommitTableResponse:
        staged = self._update_and_stage_table(self.load_table(table.name()), table.name(), requirements, updates)
        self._write_metadata(staged.metadata, staged.io, staged.metadata_location)
        self.locations[tuple(table.name())] = staged.metadata_location
        return CommitTableResponse(metadata=staged.metadata, metadata_location=staged.metadata_location)

    def _unsupported(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedError


for _name in list(MetastoreCatalog.__abstractmethods__):
    if _name not in DirectoryCatalog.__dict__:
        setattr(DirectoryCatalog, _name, DirectoryCatalog._unsupported)
DirectoryCatalog.__abstractmethods__ = frozenset()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("definitions")
    ap.add_argument("filters", nargs="+", help="pyiceberg row filters, e.g. \"event_time >= '2026-06-14T00:00:00+00:00'\"")
    args = ap.parse_args()
    defn, rules = load_definitions(args.definitions)["impressions"], load_wire_rules(args.definitions)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in sys.stdin:
        if line.strip():
            row = convert_record(defn, json.loads(line), rules)
            by_day[row["event_time"].date().isoformat()].append(row)
    with tempfile.TemporaryDirectory() as warehouse:
        cat = DirectoryCatalog(f"file://{warehouse}")
        table = cat.create_table(("lake", "impressions"), schema_of(defn), f"file://{warehouse}/impressions", partition_spec_of(defn))
        for day in sorted(by_day):
            table.append(to_arrow(defn, table.schema(), by_day[day]))
        table = cat.load_table(("lake", "impressions"))
        all_files = list(table.scan().plan_files())
        out: dict[str, Any] = {"totalFiles": len(all_files), "filters": []}
        for f in args.filters:
            scan = table.scan(row_filter=f)
            spec, schema = table.spec(), table.schema()
            partition_filter = inclusive_projection(schema, spec)(scan.row_filter)
            in_partition = expression_evaluator(Schema(*spec.partition_type(schema).fields), partition_filter, True)
            planned = list(scan.plan_files())
            out["filters"].append({
                "filter": f,
                "partitionFilter": str(partition_filter),
                "filesInMatchingPartitions": sum(1 for t in all_files if in_partition(t.file.partition)),
                "plannedFiles": len(planned),
                "plannedDays": sorted({(EPOCH_DAY + dt.timedelta(days=t.file.partition[0])).isoformat() for t in planned}),
            })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
