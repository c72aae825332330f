"""Shared pieces of the local lake tooling: table definitions (exported from lambdas/domain/lake-schema.ts),
their pyiceberg schemas and partition specs, record conversion, and the catalog on the emulator's Glue.

On AWS, Glue creates an Iceberg table's first metadata when CloudFormation creates the table. The emulator
only stores the Glue entry, so `adopt_table` writes that first metadata with pyiceberg (same schema, field
ids and partition spec) and points the Glue entry at it; from then on pyiceberg's Glue catalog commits
snapshots exactly as on AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import boto3
import pyarrow as pa
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
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


def _ts(v: Any) -> dt.datetime | None:
    if v is None:
        return None
    return dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _convert(t: Any, v: Any) -> Any:
    if v is None:
        return None
    if t == "timestamptz":
        return _ts(v)
    if t == "date":
        return dt.date.fromisoformat(str(v)[:10])
    if t in ("int", "long"):
        return int(v)
    if t == "string":
        return v if isinstance(v, str) else json.dumps(v)
    if t == "boolean":
        return bool(v)
    if isinstance(t, dict) and t["type"] == "list":
        return [None if x is None else str(x) for x in v]
    if isinstance(t, dict) and t["type"] == "map":
        return [(str(k), None if x is None else str(x)) for k, x in dict(v).items()]
    raise ValueError(f"unsupported type {t}")


def to_arrow(defn: dict[str, Any], schema: Schema, records: list[dict[str, Any]]) -> pa.Table:
    """Rows from JSON records, matched to columns by name as Firehose does (unknown keys ignored, missing = null)."""
    columns = defn["columns"]
    data = {c["name"]: [_convert(c["type"], r.get(c["name"])) for r in records] for c in columns}
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


def adopt_table(endpoint: str, region: str, database: str, defn: dict[str, Any]) -> Table:
    """Loads the Iceberg table behind a CDK-created Glue table, writing its first metadata if it has none."""
    glue = aws_client("glue", endpoint, region)
    entry = glue.get_table(DatabaseName=database, Name=defn["name"])["Table"]
    params = dict(entry.get("Parameters") or {})
    cat = catalog(endpoint, region)
    if not params.get("metadata_location"):
        location = entry["StorageDescriptor"]["Location"].rstrip("/")
        metadata = new_table_metadata(
            schema=schema_of(defn),
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


def env_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
