"""Iceberg delivery stand-in: does locally what the deployed Firehose delivery streams are configured to do.

It reads the delivery streams of a deployed pipeline stack (source stream, destination table, buffering
hints) from the deployment itself (CloudFormation, then Firehose's DescribeDeliveryStream), consumes each
source stream, buffers by the configured size and interval (the interval shortened locally with
--buffer-seconds), and commits append-only Iceberg v2 snapshots of Parquet files to the table's location
in the emulator's S3 through the Glue catalog.

It converts records as strictly as Firehose's Iceberg destination documents (lakelib.convert_record): a record
Firehose would refuse (not one JSON object, nesting past 16 levels, a missing column, a null in a required
column, a value not in its type's wire form, e.g. a timestamp that is not epoch microseconds) goes to the
delivery's error prefix as Firehose's error document and is counted, never committed. Keys that are not
columns are skipped, as Firehose skips them. See docs/lake.md, "Lake encoding". Columns appended to a
definition are added to the table before the first commit (lakelib.evolve_table; docs/lake.md, "Schema
evolution").

Checkpoints live in the snapshot itself: each commit records, in its summary, the last sequence number of
every shard it includes. The data and the checkpoint are one atomic commit, so a stand-in killed at any
point resumes after the last committed record: nothing committed is lost or written twice.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aws_kinesis_agg
from pyiceberg.exceptions import CommitFailedException
from lakelib import (
    Refused,
    adopt_table,
    aws_client,
    convert_record,
    env_region,
    evolve_table,
    load_definitions,
    load_wire_rules,
    parse_record,
    schema_of,
    to_arrow,
)

# awslabs' aws-kinesis-agg imports its generated protobuf modules as top-level modules.
sys.path.append(os.path.dirname(aws_kinesis_agg.__file__))
from aws_kinesis_agg.deaggregator import iter_deaggregate_records  # noqa: E402

CHECKPOINT_KEY = "impressions.delivery.checkpoint"
COMMIT_ATTEMPTS = 10


def log(msg: str) -> None:
    print(f"[lake-delivery] {msg}", file=sys.stderr, flush=True)


@dataclass
class Delivery:
    name: str
    stream_arn: str
    database: str
    table_name: str
    interval_s: float
    size_bytes: int
    error_prefix: str
    bucket: str
    table: Any = None
    defn: dict[str, Any] = field(default_factory=dict)
    iterators: dict[str, str] = field(default_factory=dict)
    checkpoint: dict[str, str] = field(default_factory=dict)
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffer_bytes: int = 0
    buffer_started: float = 0.0
    pending_checkpoint: dict[str, str] = field(default_factory=dict)
    committed_records: int = 0
    failed_records: int = 0
    rules: dict[str, Any] = field(default_factory=dict)


def discover(endpoint: str, region: str, stack: str, buffer_seconds: float | None) -> list[Delivery]:
    cfn = aws_client("cloudformation", endpoint, region)
    firehose = aws_client("firehose", endpoint, region)
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    out = []
    for r in resources:
        if r["ResourceType"] != "AWS::KinesisFirehose::DeliveryStream":
            continue
        d = firehose.describe_delivery_stream(DeliveryStreamName=r["PhysicalResourceId"])["DeliveryStreamDescription"]
        src = d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
        dest = d["Destinations"][0]["IcebergDestinationDescription"]
        tc = dest["DestinationTableConfigurationList"][0]
        hints = dest.get("BufferingHints") or {}
        s3 = dest.get("S3DestinationDescription") or {}
        out.append(
            Delivery(
                name=d["DeliveryStreamName"],
                stream_arn=src,
                database=tc["DestinationDatabaseName"],
                table_name=tc["DestinationTableName"],
                interval_s=buffer_seconds if buffer_seconds is not None else float(hints.get("IntervalInSeconds", 300)),
                size_bytes=int(hints.get("SizeInMBs", 128)) * 1024 * 1024,
                error_prefix=(s3.get("ErrorOutputPrefix") or f"delivery-errors/{tc['DestinationTableName']}/"),
                bucket=(s3.get("BucketARN") or "").split(":::")[-1],
            )
        )
    return out


def last_checkpoint(table: Any) -> dict[str, str]:
    """The checkpoint of the newest snapshot that has one (other writers' snapshots, e.g. a DELETE, have none)."""
    snap = table.current_snapshot()
    while snap is not None:
        summary = snap.summary.additional_properties if snap.summary else {}
        if CHECKPOINT_KEY in summary:
            return json.loads(summary[CHECKPOINT_KEY])
        snap = table.snapshot_by_id(snap.parent_snapshot_id) if snap.parent_snapshot_id else None
    return {}


def open_iterators(kinesis: Any, d: Delivery) -> None:
    stream_name = d.stream_arn.split("/")[-1]
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    for s in shards:
        sid = s["ShardId"]
        if sid in d.checkpoint:
            it = kinesis.get_shard_iterator(
                StreamName=stream_name,
                ShardId=sid,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=d.checkpoint[sid],
            )
        else:
            it = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=sid, ShardIteratorType="TRIM_HORIZON")
        d.iterators[sid] = it["ShardIterator"]


def write_errors(s3: Any, d: Delivery, bad: list[dict[str, Any]]) -> None:
    """Refused records to the error prefix, one JSON document each in the form Firehose documents for records
    it cannot convert (Firehose developer guide, "Handling errors for data format conversion")."""
    prefix = d.error_prefix.replace("!{firehose:error-output-type}", "processing-failed")
    prefix = prefix.replace("!{timestamp:yyyy/MM/dd}", time.strftime("%Y/%m/%d", time.gmtime()))
    key = f"{prefix}{int(time.time() * 1000)}.json"
    s3.put_object(Bucket=d.bucket, Key=key, Body="\n".join(json.dumps(b) for b in bad).encode())
    d.failed_records += len(bad)
    codes = sorted({b["errorCode"] for b in bad})
    log(f"{d.name}: {len(bad)} records refused ({', '.join(codes)}) written to s3://{d.bucket}/{key}")
    print(json.dumps({"failed": len(bad), "table": d.table_name, "codes": codes}), flush=True)


def commit(d: Delivery) -> None:
    if not d.buffer:
        return
    data = to_arrow(d.defn, d.table.schema(), d.buffer)
    checkpoint = {**d.checkpoint, **d.pending_checkpoint}
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            d.table.append(data, snapshot_properties={CHECKPOINT_KEY: json.dumps(checkpoint, sort_keys=True)})
            break
        except CommitFailedException:
            # Another writer (an erasure's DELETE, a compaction) committed first: back off and retry on its
            # snapshot, as Firehose retries a commit that lost the optimistic-concurrency race.
            if attempt == COMMIT_ATTEMPTS:
                raise
            log(f"{d.table_name}: commit conflict, retrying ({attempt})")
            time.sleep(0.2 * attempt)
            d.table.refresh()
    d.checkpoint = checkpoint
    d.committed_records += len(d.buffer)
    log(f"{d.table_name}: committed {len(d.buffer)} records (total {d.committed_records})")
    print(json.dumps({"committed": len(d.buffer), "table": d.table_name}), flush=True)
    d.buffer, d.buffer_bytes, d.pending_checkpoint = [], 0, {}


def poll(kinesis: Any, s3: Any, d: Delivery) -> int:
    got = 0
    bad: list[dict[str, Any]] = []
    for sid, it in list(d.iterators.items()):
        if not it:
            continue
        r = kinesis.get_records(ShardIterator=it, Limit=1000)
        d.iterators[sid] = r.get("NextShardIterator")
        for rec in r.get("Records", []):
            for sub, data in enumerate(user_records(rec)):
                buffer(d, data, bad, rec, sub)
            d.pending_checkpoint[sid] = rec["SequenceNumber"]
            got += 1
    if bad:
        write_errors(s3, d, bad)
    return got


def user_records(rec: dict[str, Any]) -> list[bytes]:
    """The user records of a Kinesis record: itself, or what a KPL aggregate carries (Firehose de-aggregates)."""
    data = rec["Data"]
    if not data.startswith(aws_kinesis_agg.MAGIC):
        return [data]
    return [base64.b64decode(u["kinesis"]["data"]) for u in iter_deaggregate_records([rec], data_format="Boto3")]


def buffer(d: Delivery, data: bytes, bad: list[dict[str, Any]], rec: dict[str, Any], sub: int) -> None:
    """Buffers one record for the next commit, converted as strictly as Firehose converts it; a record Firehose
    would refuse goes to the error output instead, and is never committed."""
    try:
        row = convert_record(d.defn, parse_record(data, d.rules), d.rules)
    except Refused as r:
        now_ms = int(time.time() * 1000)
        arrival = rec.get("ApproximateArrivalTimestamp")
        bad.append({
            "attemptsMade": 1,
            "arrivalTimestamp": int(arrival.timestamp() * 1000) if arrival else now_ms,
            "errorCode": r.code,
            "errorMessage": r.message,
            "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(data).decode(),
            "sequenceNumber": rec["SequenceNumber"],
            "subSequenceNumber": sub,
            "dataCatalogTable": {"databaseName": d.database, "tableName": d.table_name},
        })
        return
    if not d.buffer:
        d.buffer_started = time.monotonic()
    d.buffer.append(row)
    d.buffer_bytes += len(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="emulator endpoint, e.g. http://127.0.0.1:4566")
    ap.add_argument("--stack", required=True, help="the deployed pipeline stack (it owns the delivery streams)")
    ap.add_argument("--definitions", required=True, help="table definitions JSON (from lake-schema.ts)")
    ap.add_argument("--buffer-seconds", type=float, default=None, help="shorten the configured buffering interval")
    ap.add_argument("--idle-exit", type=float, default=None, help="exit after this many seconds with nothing to do")
    args = ap.parse_args()
    region = env_region()

    stop = {"now": False, "flush": False}

    def on_signal(_sig: int, _frame: Any) -> None:
        stop["now"] = True

    def on_flush(_sig: int, _frame: Any) -> None:
        stop["flush"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # SIGUSR1: commit what is buffered now (a run that is draining does not wait out the buffering interval).
    signal.signal(signal.SIGUSR1, on_flush)

    definitions = load_definitions(args.definitions)
    rules = load_wire_rules(args.definitions)
    deliveries = discover(args.endpoint, region, args.stack, args.buffer_seconds)
    if not deliveries:
        log(f"no delivery streams in {args.stack}")
        return 2
    kinesis = aws_client("kinesis", args.endpoint, region)
    s3 = aws_client("s3", args.endpoint, region)
    for d in deliveries:
        d.defn = definitions[d.table_name]
        d.rules = rules
        d.table = adopt_table(args.endpoint, region, d.database, d.defn)
        added = evolve_table(d.table, d.defn)
        if added:
            log(f"{d.table_name}: added columns {', '.join(added)} (schema {d.table.schema().schema_id})")
        if d.table.schema().as_struct() != schema_of(d.defn).as_struct():
            log(f"{d.table_name}: table schema differs from the definitions; refusing to write")
            return 3
        d.checkpoint = last_checkpoint(d.table)
        open_iterators(kinesis, d)
        log(f"{d.name}: {d.stream_arn.split('/')[-1]} -> {d.database}.{d.table_name}, "
            f"buffer {d.interval_s:g} s / {d.size_bytes // (1024 * 1024)} MiB, resume {d.checkpoint or 'from the trim horizon'}")
    print(json.dumps({"ready": True, "deliveries": [d.table_name for d in deliveries]}), flush=True)

    idle_since = time.monotonic()
    while not stop["now"]:
        busy = False
        for d in deliveries:
            if poll(kinesis, s3, d):
                busy = True
            due = d.buffer and (
                stop["flush"] or d.buffer_bytes >= d.size_bytes or time.monotonic() - d.buffer_started >= d.interval_s
            )
            if due:
                commit(d)
                busy = True
        stop["flush"] = False
        if busy:
            idle_since = time.monotonic()
        elif args.idle_exit is not None and time.monotonic() - idle_since >= args.idle_exit:
            break
        else:
            time.sleep(0.2)
    # A clean stop flushes what is buffered, as Firehose does when a delivery stream is deleted.
    for d in deliveries:
        commit(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
