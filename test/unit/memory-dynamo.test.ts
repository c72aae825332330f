/**
 * The in-memory DynamoDB (test/support/memory-aws.ts) refuses what the service refuses in the parts the
 * project uses: projections and update actions.
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { memoryDynamo, projectionAttributes } from '../support/memory-aws.js';

describe('memory DynamoDB', () => {
  it('compares a Binary byte by byte in a condition, and never equal to another type', async () => {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    const bytes = Uint8Array.from([1, 2, 3]);
    const put = (value: unknown, expected: unknown) =>
      ddb.client.send(
        new UpdateCommand({
          TableName: 't',
          Key: { pk: 'a', sk: 'b' },
          UpdateExpression: 'SET #v = :v',
          ConditionExpression: 'attribute_not_exists(#v) OR #v = :old',
          ExpressionAttributeNames: { '#v': 'v' },
          ExpressionAttributeValues: { ':v': value, ':old': expected },
        }),
      );
    await put(bytes, 'unused');
    // The same bytes in another view (a Buffer over a larger pool) are equal; a list of the numbers is not.
    await expect(put(Uint8Array.from([9]), [1, 2, 3])).rejects.toThrow(/conditional request failed/i);
    await expect(put(Uint8Array.from([9]), Uint8Array.from([1, 2, 4]))).rejects.toThrow(/conditional/i);
    await put(Uint8Array.from([9]), Buffer.concat([Buffer.from([0]), Buffer.from(bytes)]).subarray(1));
    expect([...ddb.table('t').values()][0]?.v).toEqual(Uint8Array.from([9]));
  });

  it('projects top-level attributes, refusing undefined names, empty and overlapping paths', () => {
    expect(projectionAttributes('pk, #s', { '#s': 'sk' })).toEqual(['pk', 'sk']);
    expect(() => projectionAttributes('pk, #s', {})).toThrow(
      /attribute name used in the document path is not defined/,
    );
    expect(() => projectionAttributes('pk,', {})).toThrow(/Syntax error/);
    expect(() => projectionAttributes('pk, #p', { '#p': 'pk' })).toThrow(/overlap/);
  });

  it('a Query returns the projected attributes, charges the items, and counts the bytes returned', async () => {
    const ddb = memoryDynamo({ throttle: 0, partial: 0, seed: 1 });
    await ddb.client.send(
      new UpdateCommand({
        TableName: 't',
        Key: { pk: 'a', sk: 'b' },
        UpdateExpression: 'SET #v = :v, #g = if_not_exists(#g, :g)',
        ExpressionAttributeNames: { '#v': 'v', '#g': 'g' },
        ExpressionAttributeValues: { ':v': 'x'.repeat(1000), ':g': 'g1' },
      }),
    );
    const out = await ddb.client.send(
      new QueryCommand({
        TableName: 't',
        KeyConditionExpression: 'pk = :pk',
        ProjectionExpression: 'pk, sk',
        ExpressionAttributeValues: { ':pk': 'a' },
      }),
    );
    expect(out.Items).toEqual([{ pk: 'a', sk: 'b' }]);
    expect(ddb.capacity.readBytes).toBeGreaterThan(1000);
    expect(ddb.capacity.returnedBytes).toBeLessThan(10);
    expect(ddb.table('t').get([...ddb.table('t').keys()][0]!)?.g).toBe('g1');
  });
});
