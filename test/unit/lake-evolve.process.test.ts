/**
 * `lakelib.evolve_table`, what the local delivery does when a definition has columns its table lacks, on a
 * throwaway Iceberg table in a temporary directory (the DirectoryCatalog of scripts/lake/pruning.py): an
 * appended optional column is added with the definition's field id, as a metadata-only commit (the data files
 * stay, old rows read NULL); anything but such an append is left alone, so the delivery refuses to write.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WIRE_RULES } from '../../lambdas/adapters/stream-encoding.js';
import { IMPRESSIONS_TABLE, type LakeTableDefinition } from '../../lambdas/domain/lake-schema.js';
import { ensureLakeInstalled, ROOT } from '../../scripts/emulator.js';

const SCRIPT = `
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
from pruning import DirectoryCatalog
from lakelib import convert_record, evolve_table, partition_spec_of, schema_of, to_arrow
args = json.load(sys.stdin)
old, new, rules = args["old"], args["new"], args["rules"]
with tempfile.TemporaryDirectory() as warehouse:
    cat = DirectoryCatalog(f"file://{warehouse}")
    t = cat.create_table(("lake", "impressions"), schema_of(old), f"file://{warehouse}/impressions", partition_spec_of(old))
    t.append(to_arrow(old, t.schema(), [convert_record(old, r, rules) for r in args["oldRows"]]))
    files = sorted(f.file.file_path for f in t.scan().plan_files())
    added = evolve_table(t, new)
    t = cat.load_table(("lake", "impressions"))
    same = t.schema().as_struct() == schema_of(new).as_struct()
    files_after = sorted(f.file.file_path for f in t.scan().plan_files())
    if same:
        t.append(to_arrow(new, t.schema(), [convert_record(new, r, rules) for r in args["newRows"]]))
    rows = t.scan(selected_fields=("event_id", *([new["columns"][-1]["name"]] if same else []))).to_arrow().to_pylist()
    again = evolve_table(t, new) if same else None
    print(json.dumps({
        "added": added, "same": same, "filesKept": files == files_after, "again": again,
        "fields": [[f.field_id, f.name, f.required] for f in t.schema().fields][-2:],
        "rows": sorted(rows, key=lambda r: r["event_id"]),
    }))
`;

interface Outcome {
  added: string[];
  same: boolean;
  filesKept: boolean;
  again: string[] | null;
  fields: [number, string, boolean][];
  rows: Record<string, unknown>[];
}

const DAY_US = Date.parse('2026-06-15T12:00:00Z') * 1000;
/** A wire record of `def` (every column, its wire form), with `event_id` and any column overridden. */
function wire(def: LakeTableDefinition, id: string, extra: Record<string, unknown> = {}) {
  const values: Record<string, unknown> = {
    event_id: id,
    schema_version: 'impression/1-0-0',
    event_time: DAY_US,
    received_at: DAY_US + 1_000,
    ingest_lag_ms: 1,
    event_date: '2026-06-15',
    row_index: 0,
    position: 0,
    visible_percent: 100,
    visible_ms: 1500,
  };
  return Object.fromEntries(
    def.columns.map((c) => [
      c.name,
      c.name in extra ? extra[c.name] : c.name in values ? values[c.name] : c.required ? 'x' : null,
    ]),
  );
}

function evolve(oldDef: LakeTableDefinition, newDef: LakeTableDefinition): Outcome {
  const python = ensureLakeInstalled();
  const input = {
    old: oldDef,
    new: newDef,
    rules: WIRE_RULES,
    oldRows: [wire(oldDef, 'a-old'), wire(oldDef, 'b-old')],
    newRows: [wire(newDef, 'c-new', { device_locale: 'pt-BR', schema_version: 'impression/1-1-0' })],
  };
  const r = spawnSync(python, ['-c', SCRIPT, path.join(ROOT, 'scripts', 'lake')], {
    cwd: ROOT,
    input: JSON.stringify(input),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

const OLD: LakeTableDefinition = { ...IMPRESSIONS_TABLE, columns: IMPRESSIONS_TABLE.columns.slice(0, -1) };

describe('the local delivery evolves a table to its definition', () => {
  it('appends device_locale with field id 33: data files kept, old rows NULL, new rows carry it; once', () => {
    const o = evolve(OLD, IMPRESSIONS_TABLE);
    expect(o.added).toEqual(['device_locale']);
    expect(o.same).toBe(true);
    expect(o.fields.at(-1)).toEqual([33, 'device_locale', false]);
    expect(o.filesKept).toBe(true);
    expect(o.rows).toEqual([
      { event_id: 'a-old', device_locale: null },
      { event_id: 'b-old', device_locale: null },
      { event_id: 'c-new', device_locale: 'pt-BR' },
    ]);
    expect(o.again).toEqual([]);
  });

  it('leaves the table alone when the definition numbers the new column otherwise', () => {
    const last = IMPRESSIONS_TABLE.columns.at(-1)!;
    const o = evolve(OLD, { ...IMPRESSIONS_TABLE, columns: [...OLD.columns, { ...last, id: 40 }] });
    expect(o.added).toEqual([]);
    expect(o.same).toBe(false);
    expect(o.fields.at(-1)?.[1]).toBe('context');
  });

  it('leaves the table alone for a required new column or a change that is not an append', () => {
    const last = IMPRESSIONS_TABLE.columns.at(-1)!;
    const required = evolve(OLD, {
      ...IMPRESSIONS_TABLE,
      columns: [...OLD.columns, { ...last, required: true }],
    });
    expect([required.added, required.same]).toEqual([[], false]);
    const renamed = IMPRESSIONS_TABLE.columns.map((c) =>
      c.name === 'page' ? { ...c, name: 'page_name' } : c,
    );
    const moved = evolve(OLD, { ...IMPRESSIONS_TABLE, columns: renamed });
    expect([moved.added, moved.same]).toEqual([[], false]);
  });
});
