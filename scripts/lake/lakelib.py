"""Shared pieces of the local lake tooling: table definitions (exported from lambdas/domain/lake-schema.ts),
their pyiceberg schemas and partition specs, record conversion, and the catalog on the emulator's Glue.

On AWS, Glue creates an Iceberg table's first metadata when CloudFormation creates the table. The emulator
only stores the Glue entry, so `adopt_table` writes that first metadata with pyiceberg (same schema, field
ids and partition spec) and points the Glue entry at it; from then on pyiceberg's Glue catalog commits
snapshots exactly as on AWS. A column appended to a definition reaches an existing table through
`evolve_table`, which does what the deployment's `ALTER TABLE … ADD COLUMNS` does on AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Any

import boto3
import pyarrow as pa
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema, assign_fresh_schema_ids
from pyiceberg.serializers import ToOutputFile
from pyiceberg.table import Table
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    TimestamptzType,
)

PRIMITIVES: dict[str, IcebergType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "date": DateType(),
    "timestamptz": TimestamptzType(),
    "boolean": BooleanType(),
}


def _contract() -> dict[str, Any]:
    """What the deployed app promises the tools (infra/contract.ts, exported to contract.json next to this file)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract.json"), encoding="utf-8") as f:
        return json.load(f)


CONTRACT = _contract()
# The lake's Iceberg tables, by name.
LAKE_TABLES: tuple[str, ...] = tuple(CONTRACT["lakeTables"])


def load_definitions(path: str) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return {t["name"]: t for t in json.load(f)["tables"]}


def iceberg_type(t: Any) -> IcebergType:
    if isinstance(t, str):
        return PRIMITIVES[t]
    if t["type"] == "list":
        return ListType(element_id=t["elementId"], element_type=PRIMITIVES[t["element"]], element_required=False)
    return MapType(
        key_id=t["keyId"],
        key_type=PRIMITIVES[t["key"]],
        value_id=t["valueId"],
        value_type=PRIMITIVES[t["value"]],
        value_required=False,
    )


def schema_of(defn: dict[str, Any]) -> Schema:
    return Schema(
        *[
            NestedField(field_id=c["id"], name=c["name"], field_type=iceberg_type(c["type"]), required=c["required"], doc=c["doc"])
            for c in defn["columns"]
        ],
        schema_id=0,
    )


def partition_spec_of(defn: dict[str, Any]) -> PartitionSpec:
    ids = {c["name"]: c["id"] for c in defn["columns"]}
    return PartitionSpec(
        *[
            PartitionField(source_id=ids[p["sourceColumn"]], field_id=p["fieldId"], transform=DayTransform(), name=p["name"])
            for p in defn["partition"]
        ],
        spec_id=0,
    )


class Refused(Exception):
    """A record Firehose's Iceberg destination would not write: it goes to the delivery's error prefix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def load_wire_rules(path: str) -> dict[str, Any]:
    """The encoding rules exported with the definitions (WIRE_RULES in lambdas/adapters/stream-encoding.ts)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)["wireRules"]


def parse_record(data: bytes, rules: dict[str, Any]) -> dict[str, Any]:
    """One JSON object per record ("One JSON object per record"), at most the documented nesting depth."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise Refused("nesting-too-deep", f"more than {rules['maxNestingDepth']} levels of nesting") from None
    except ValueError as exc:
        raise Refused("not-json", str(exc)) from None
    if not isinstance(value, dict):
        raise Refused("not-one-json-object", f"a JSON {type(value).__name__}, not one object")
    depth = nesting_depth(value)
    if depth > rules["maxNestingDepth"]:
        raise Refused("nesting-too-deep", f"{depth} levels of nesting; Firehose supports {rules['maxNestingDepth']}")
    return value


def nesting_depth(value: Any) -> int:
    """Levels of nesting of a JSON value (the record object is level 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def _mismatch(name: str, t: Any, v: Any) -> Refused:
    shown = json.dumps(v)[:80]
    return Refused("type-mismatch", f"{name}: {shown} is not a {t if isinstance(t, str) else t['type']} in the wire form")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _convert(name: str, t: Any, v: Any, rules: dict[str, Any]) -> Any:
    if t == "timestamptz":
        if not _is_int(v):
            raise Refused("timestamp-not-microseconds", f"{name}: {json.dumps(v)[:80]} is not an integer of microseconds")
        if not rules["timestampMicrosMin"] <= v < rules["timestampMicrosMax"]:
            scale = "seconds" if abs(v) < 1e11 else "milliseconds" if abs(v) < 1e14 else "nanoseconds" if abs(v) > 1e17 else "out of range"
            raise Refused("timestamp-not-microseconds", f"{name}: {v} is not microseconds since the epoch (looks like {scale})")
        return EPOCH + dt.timedelta(microseconds=v)
    if t == "date":
        if not isinstance(v, str) or not DATE_RE.fullmatch(v):
            raise _mismatch(name, t, v)
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise _mismatch(name, t, v) from None
    if isinstance(t, str) and t in INT_RANGE:
        lo, hi = INT_RANGE[t]
        if not _is_int(v) or not lo <= v <= hi:
            raise _mismatch(name, t, v)
        return v
    if t == "string":
        if not isinstance(v, str):
            raise _mismatch(name, t, v)
        return v
    if t == "boolean":
        if not isinstance(v, bool):
            raise _mismatch(name, t, v)
        return v
    if isinstance(t, dict) and t["type"] == "list":
        if not isinstance(v, list) or not all(x is None or _is_primitive(t["element"], x) for x in v):
            raise _mismatch(name, t, v)
        return list(v)
    if isinstance(t, dict) and t["type"] == "map":
        if not isinstance(v, dict) or not all(x is None or _is_primitive(t["value"], x) for x in v.values()):
            raise _mismatch(name, t, v)
        return list(v.items())
    raise ValueError(f"unsupported type {t}")


def _is_primitive(t: str, v: Any) -> bool:
    if t != "string":
        raise ValueError(f"unsupported element type {t}")
    return isinstance(v, str)


def convert_record(defn: dict[str, Any], record: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    """One table row from a wire record, as strictly as Firehose's Iceberg destination takes it.

    Every column must be present (the encoder always writes every key; Firehose "expects" the column names of
    the table), null only where the column is optional, and each value in its type's wire form. Keys that are
    not columns are skipped, as Firehose does ("Firehose skips the new field").
    """
    row: dict[str, Any] = {}
    for c in defn["columns"]:
        name = c["name"]
        if name not in record:
            raise Refused("missing-column", f"{name}: not in the record")
        v = record[name]
        if v is None:
            if c["required"]:
                raise Refused("null-in-required-column", f"{name}: null in a required column")
            row[name] = None
        else:
            row[name] = _convert(name, c["type"], v, rules)
    return row


def to_arrow(defn: dict[str, Any], schema: Schema, rows: list[dict[str, Any]]) -> pa.Table:
    """An Arrow table of rows already converted by `convert_record`."""
    data = {c["name"]: [r[c["name"]] for r in rows] for c in defn["columns"]}
    return pa.Table.from_pydict(data, schema=schema.as_arrow())


def emulator_properties(endpoint: str, region: str) -> dict[str, str]:
    return {
        "glue.endpoint": endpoint,
        "glue.region": region,
        "glue.access-key-id": "test",
        "glue.secret-access-key": "test",
        "s3.endpoint": endpoint,
        "s3.region": region,
        "s3.access-key-id": "test",
        "s3.secret-access-key": "test",
        "s3.path-style-access": "true",
    }


def aws_client(service: str, endpoint: str | None, region: str):
    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint:
        kwargs.update(endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client(service, **kwargs)


def catalog(endpoint: str, region: str) -> GlueCatalog:
    return GlueCatalog("lake", **emulator_properties(endpoint, region))


def created_columns(defn: dict[str, Any]) -> dict[str, Any]:
    """The definition a new table is created with: its longest prefix of columns whose field ids Iceberg's
    fresh assignment keeps (top-level columns first, then nested ids, as a table is first created). A column
    appended later (field id after the nested ids, "Adding a column" in docs/deploy-aws.md) would be renumbered
    by a fresh creation, so it is left to `evolve_table`, which appends it with its own id as `ALTER TABLE`
    does on AWS."""
    for k in range(len(defn["columns"]), 0, -1):
        prefix = {**defn, "columns": defn["columns"][:k]}
        schema = schema_of(prefix)
        if assign_fresh_schema_ids(schema).as_struct() == schema.as_struct():
            return prefix
    return defn


def adopt_table(endpoint: str, region: str, database: str, defn: dict[str, Any]) -> Table:
    """Loads the Iceberg table behind a CDK-created Glue table, writing its first metadata if it has none."""
    glue = aws_client("glue", endpoint, region)
    entry = glue.get_table(DatabaseName=database, Name=defn["name"])["Table"]
    params = dict(entry.get("Parameters") or {})
    cat = catalog(endpoint, region)
    if not params.get("metadata_location"):
        location = entry["StorageDescriptor"]["Location"].rstrip("/")
        metadata = new_table_metadata(
            schema=schema_of(created_columns(defn)),
            partition_spec=partition_spec_of(defn),
            sort_order=UNSORTED_SORT_ORDER,
            location=location,
            properties={"write.format.default": "parquet", "write.parquet.compression-codec": "zstd", "format-version": "2"},
        )
        path = f"{location}/metadata/00000-{metadata.table_uuid}.metadata.json"
        io = PyArrowFileIO(properties=emulator_properties(endpoint, region))
        ToOutputFile.table_metadata(metadata, io.new_output(path))
        params.update({"table_type": "ICEBERG", "metadata_location": path})
        table_input = {
            k: v
            for k, v in entry.items()
            if k in ("Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType") and v not in ("", None)
        }
        table_input["Parameters"] = params
        glue.update_table(DatabaseName=database, TableInput=table_input, VersionId=entry.get("VersionId", "1"))
    return cat.load_table((database, defn["name"]))


def evolve_table(table: Table, defn: dict[str, Any]) -> list[str]:
    """Appends to `table` the columns its definition has after the table's own, as the table custom resource's
    `ALTER TABLE … ADD COLUMNS` does on AWS (lambdas/iceberg-table/on-event.ts): a metadata-only commit, no
    data file rewritten, rows written before read the new columns as NULL. Only an append is applied: a table
    whose columns are not a prefix of the definition's is left as it is (the caller refuses to write to it).
    Iceberg assigns the new field ids (the table's last column id + 1, then the nested ids), which is how the
    definitions number an appended column (docs/deploy-aws.md, "Adding a column"); a definition numbering them
    otherwise is not applied, so a wrong id never reaches the table. Returns the names added."""
    want = schema_of(defn)
    have = list(table.schema().fields)
    if len(want.fields) <= len(have) or list(want.fields[: len(have)]) != have:
        return []
    added = want.fields[len(have) :]
    if any(f.required for f in added):
        return []  # Athena adds only optional columns; a required one needs a migration.
    try:
        with table.transaction() as tx:
            with tx.update_schema() as update:
                for f in added:
                    update.add_column(f.name, f.field_type, doc=f.doc)
            if tx.table_metadata.schema().as_struct() != want.as_struct():
                raise _IdsDiffer  # leaving the transaction by an exception commits nothing
    except _IdsDiffer:
        return []
    return [f.name for f in added]


class _IdsDiffer(Exception):
    pass


def env_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
