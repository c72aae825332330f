"""Erases one profile from the local lake: the Iceberg row-level deletes that `npm run erase` runs through Athena
on AWS, carried out here with pyiceberg (DuckDB's Iceberg extension reads but does not delete).

Rows removed, per table (the same predicates as on Athena, see docs/privacy-erasure.md):
- `impressions`: `profile_id = <id>`;
- `impressions_rejected`: `partition_key = <id>`, or the raw payload is JSON whose top-level `profileId` is <id>.

Prints one JSON object: per table, the rows that matched, the rows removed and the rows still matching after
(0 unless the delivery committed more of the profile's rows meanwhile: run it again after the history API's
erasure has stopped new ones). With --dry-run nothing is deleted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

from lakelib import CONTRACT, LAKE_TABLES, catalog, env_region
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import EqualTo, In, Or
from query import connect

# The contract's profile id rule (lambdas/domain/profile-id.ts), from contract.json.
PROFILE_ID = re.compile(CONTRACT["profileIdPattern"])

def profile_in_raw(raw: str, profile: str) -> bool:
    """Whether a rejected record's raw payload names the profile as its top-level `profileId`. A payload that is
    not valid JSON (e.g. cut at 16 KiB) is searched for the field as text, as Athena's lenient
    json_extract_scalar still reads it from a truncated payload."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return re.search(r'"profileId"\s*:\s*"' + re.escape(profile) + '"', raw) is not None
    return isinstance(value, dict) and value.get("profileId") == profile


def matching(con: Any, table: str, profile: str) -> tuple[int, list[str]]:
    """Rows of `table` that hold the profile: their count, and for rejected rows found by their payload (not by
    their partition key) the sequence numbers. DuckDB's json_extract_string raises on a payload that is not
    JSON (TRY does not help inside a scan), so the payload test runs here, on the rows that mention the id."""
    if table == "impressions":
        return int(con.execute("SELECT count(*) FROM impressions WHERE profile_id = $id", {"id": profile}).fetchone()[0]), []
    rows = con.execute(
        "SELECT partition_key, sequence_number, raw, profile_id FROM impressions_rejected"
        " WHERE profile_id = $id OR partition_key = $id OR strpos(raw, $id) > 0",
        {"id": profile},
    ).fetchall()
    by_key = [r for r in rows if r[0] == profile]
    # Rows under another partition key name the profile in their profile_id column or their raw payload; they
    # are deleted by sequence number (a filter on the optional profile_id column would meet its nulls).
    by_row = [r for r in rows if r[0] != profile and (r[3] == profile or profile_in_raw(r[2], profile))]
    return len(by_key) + len(by_row), sorted({r[1] for r in by_row})


def delete_filter(table: str, profile: str, seqs: list[str]) -> Any:
    if table == "impressions":
        return EqualTo("profile_id", profile)
    by_key = EqualTo("partition_key", profile)
    # A rejected row is one Kinesis (user) record: its sequence number names it, whichever profile it is under.
    return Or(by_key, In("sequence_number", seqs)) if seqs else by_key


def delete(cat: Any, database: str, table: str, row_filter: Any) -> None:
    """A row-level delete, retried on a fresh snapshot when the delivery committed first."""
    for attempt in range(1, 11):
        try:
            cat.load_table((database, table)).delete(delete_filter=row_filter)
            return
        except CommitFailedException:
            if attempt == 10:
                raise
            time.sleep(0.2 * attempt)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--database", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    if not PROFILE_ID.fullmatch(args.profile):
        print("profile id must be 1-64 characters of A-Z a-z 0-9 _ -", file=sys.stderr)
        return 2
    region = env_region()
    cat = catalog(args.endpoint, region)
    out: dict[str, Any] = {"profileId": args.profile, "dryRun": args.dry_run, "tables": {}}
    for table in LAKE_TABLES:
        matched, seqs = matching(connect(args.endpoint, region, args.database), table, args.profile)
        if matched and not args.dry_run:
            delete(cat, args.database, table, delete_filter(table, args.profile, seqs))
        # Counted again on the table's new snapshot.
        remaining, _ = matching(connect(args.endpoint, region, args.database), table, args.profile)
        out["tables"][table] = {"matched": matched, "removed": matched - remaining, "remaining": remaining}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
