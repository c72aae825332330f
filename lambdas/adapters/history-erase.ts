/** Erasure from the history: every item of a profile, deleted in batches. */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { impressionsOfItem, profileKey } from '../domain/history-model.js';
import { batchWriteAll } from './dynamo-batch.js';
import type { HistoryTable } from './history-table.js';
import { retryCall } from './retry.js';

export function historyErase({ client, tableName, policy }: HistoryTable) {
  return {
    /** Deletes every item of a profile; returns how many distinct impressions were removed. */
    async erase(profileId: string): Promise<number> {
      const pk = profileKey(profileId);
      const removed = new Set<string>();
      let start: Record<string, unknown> | undefined;
      do {
        const query = new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: start,
        });
        const out = await retryCall(() => client.send(query), policy);
        for (const item of out.Items ?? []) for (const i of impressionsOfItem(item)) removed.add(i.eventId);
        const keys = (out.Items ?? []).map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        start = out.LastEvaluatedKey;
      } while (start);
      return removed.size;
    },
  };
}
