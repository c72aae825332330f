/**
 * Erasure from the history: every item of a profile, deleted in batches. The profile's items are read by
 * key only (a Query projecting `pk` and `sk`): a heavy profile's buckets are never brought into the function
 * (the read units are the items' whatever the projection; what is transferred and held is the keys).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { profileKey } from '../domain/history-model.js';
import { batchWriteAll } from './dynamo-batch.js';
import type { HistoryTable } from './history-table.js';
import { retryCall } from './retry.js';

export function historyErase({ client, tableName, policy }: HistoryTable) {
  return {
    /** Deletes every item of a profile; returns how many items were removed (the contract's `deleted`). */
    async erase(profileId: string): Promise<number> {
      const pk = profileKey(profileId);
      let removed = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const query = new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ProjectionExpression: 'pk, sk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: start,
        });
        const out = await retryCall(() => client.send(query), policy);
        const keys = (out.Items ?? []).map((it) => ({ pk: it.pk, sk: it.sk }));
        const failed = await batchWriteAll(
          client,
          tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
          policy,
        );
        if (failed.length)
          throw new Error(`erasure of ${profileId}: ${failed.length} deletes failed after retries`);
        removed += keys.length;
        start = out.LastEvaluatedKey;
      } while (start);
      return removed;
    },
  };
}
