/** TableOptimizer: Glue compaction, snapshot retention and orphan-file deletion for one Iceberg table. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE } from '../../infra/config.js';
import { TableOptimizer } from '../../infra/constructs/table-optimizer.js';
import { constructStack } from '../support/construct-stack.js';

describe('TableOptimizer', () => {
  it('enables the three optimizers with the stage retention, each after its role policy', () => {
    const s = constructStack();
    const r = DEFAULT_STAGE.lakeRetention;
    new TableOptimizer(s.stack, 'Optimizer', {
      bucket: s.bucket(),
      databaseName: 'db',
      tableName: 'impressions',
      retention: r,
    });
    const t = s.template();
    const optimizers = Object.values(t.findResources('AWS::Glue::TableOptimizer'));
    expect(optimizers.map((o) => o.Properties.Type).sort()).toEqual([
      'compaction',
      'orphan_file_deletion',
      'retention',
    ]);
    const config = (type: string) =>
      optimizers.find((o) => o.Properties.Type === type)!.Properties.TableOptimizerConfiguration;
    expect(optimizers.every((o) => o.Properties.TableOptimizerConfiguration.Enabled === true)).toBe(true);
    expect(config('retention').RetentionConfiguration.IcebergConfiguration).toMatchObject({
      SnapshotRetentionPeriodInDays: r.snapshotDays,
      NumberOfSnapshotsToRetain: r.snapshotsToKeep,
      CleanExpiredFiles: true,
    });
    expect(config('orphan_file_deletion').OrphanFileDeletionConfiguration.IcebergConfiguration).toEqual({
      OrphanFileRetentionPeriodInDays: r.orphanFileDays,
    });
    expect(optimizers.every((o) => (o.DependsOn ?? []).length >= 2)).toBe(true);
  });
});
