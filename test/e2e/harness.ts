/**
 * What the end-to-end suite uses to talk to a deployment: clients built from the provided context, a producer
 * that puts records on the raw stream as a client app would, stream readers, the signed API client, and
 * event-driven polling with deadlines.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { inject } from 'vitest';
import { type HistoryClient, historyClient, type RawResponse } from '../../client/index.js';
import { toRawRecords } from '../../lambdas/adapters/kinesis-event.js';
import { chunkForPut } from '../../lambdas/adapters/kinesis-writer.js';
import { emulatorClientConfig, stackResource } from '../../scripts/emulator.js';
import { DEFAULT_MAX_USER_RECORDS } from '../support/oracles.js';

/** A record read with GetRecords, in the shape Lambda delivers it. */
const kinesisRecordOf = (rec: { PartitionKey?: string; SequenceNumber?: string; Data?: Uint8Array }) =>
  ({
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: rec.PartitionKey ?? '',
      sequenceNumber: rec.SequenceNumber ?? '',
      data: Buffer.from(rec.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: 0,
    },
  }) as Parameters<typeof toRawRecords>[0];

import type { E2EContext } from './context.js';

export const ctx = (): E2EContext => inject('e2e');

/** Clients for the target: the emulator's endpoint and credentials, or the ambient AWS configuration. */
const clientConfig = (c: E2EContext) =>
  c.endpoint ? emulatorClientConfig(c.endpoint) : { region: c.region, requestHandler: new NodeHttpHandler() };

export function harness(c: E2EContext = ctx()) {
  const config = clientConfig(c);
  const kinesis = new KinesisClient(config);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(config));
  const cfn = new CloudFormationClient(config);
  const logs = new CloudWatchLogsClient(config);
  if (c.endpoint) {
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  }
  // Raw calls through the history API client (`request`: the answer as it came, no retries), so that the
  // tests see every status; signed with the ambient credentials, or not at all.
  const rawApi =
    (client: HistoryClient) =>
    (method: string, pathAndQuery: string, body?: string): Promise<RawResponse> =>
      client.request(method, pathAndQuery, body === undefined ? {} : { body });
  const baseUrl = c.outputs.HistoryApiUrl ?? 'http://unset';
  /** The typed client (history pages, frequency, check, ingest, erase), as an app calls the API. */
  const client = historyClient({ baseUrl, region: c.region });
  const api = rawApi(client);
  const unsignedApi = rawApi(historyClient({ baseUrl, region: c.region, sign: false }));

  /** Puts records on a stream, in order, in requests within the PutRecords limits; returns their sequence numbers. */
  async function put(
    streamName: string,
    records: readonly { partitionKey: string; data: Uint8Array | string }[],
  ) {
    const seqs: string[] = new Array(records.length);
    const all = records.map((r, i) => ({
      partitionKey: r.partitionKey,
      data: typeof r.data === 'string' ? Buffer.from(r.data) : r.data,
      source: i,
    }));
    for (const chunk of chunkForPut(all)) {
      let pending = chunk;
      for (let attempt = 0; pending.length && attempt < 8; attempt++) {
        const out = await kinesis.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: pending.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
          }),
        );
        const next: typeof pending = [];
        pending.forEach((p, k) => {
          const res = out.Records?.[k];
          if (res?.SequenceNumber && !res.ErrorCode) seqs[p.source] = res.SequenceNumber;
          else next.push(p);
        });
        pending = next;
      }
      if (pending.length) throw new Error(`${pending.length} records could not be put`);
    }
    return seqs;
  }

  /** Every record currently in a stream (all shards, from the trim horizon). */
  async function readAll(streamName: string) {
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    const out: { partitionKey: string; sequenceNumber: string; data: string }[] = [];
    for (const shard of shards.Shards ?? []) {
      let it = (
        await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: shard.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      for (let page = 0; it && page < 1000; page++) {
        const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
        for (const rec of r.Records ?? []) {
          // As any consumer does: KPL-aggregated records (the enriched stream's) are de-aggregated.
          for (const user of toRawRecords(kinesisRecordOf(rec), DEFAULT_MAX_USER_RECORDS)) {
            out.push({
              partitionKey: user.partitionKey,
              sequenceNumber: user.sequenceNumber,
              data: Buffer.from(user.data).toString('utf8'),
            });
          }
        }
        if (!r.Records?.length && (r.MillisBehindLatest ?? 0) === 0) break;
        it = r.NextShardIterator;
      }
    }
    return out;
  }

  const resource = (stackName: string, logicalIdPrefix: string) =>
    stackResource(cfn, stackName, logicalIdPrefix);

  /** Embedded-metric-format records a function logged (its Powertools metrics). */
  async function emfRecords(logGroupName: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let nextToken: string | undefined;
    do {
      const r = await logs.send(new FilterLogEventsCommand({ logGroupName, nextToken }));
      for (const e of r.events ?? []) {
        const m = e.message ?? '';
        if (!m.includes('"_aws"')) continue;
        try {
          out.push(JSON.parse(m.slice(m.indexOf('{'))) as Record<string, unknown>);
        } catch {
          // a line that merely mentions _aws
        }
      }
      nextToken = r.nextToken;
    } while (nextToken);
    return out;
  }

  return { config, kinesis, documents, cfn, client, api, unsignedApi, put, readAll, resource, emfRecords };
}

/** Polls `probe` until it returns a value that `done` accepts, or fails with the last value at the deadline. */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
  throw new Error(
    `timed out waiting for ${options.what ?? 'condition'}; last value: ${JSON.stringify(last)?.slice(0, 2000)}`,
  );
}
