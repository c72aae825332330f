/**
 * The PutRecords limits Kinesis Data Streams enforces, applied by every Kinesis stand-in of test/support
 * before it stores anything: a request AWS would refuse throws here, as the SDK raises AWS's answer (a
 * modelled `ValidationException` / `InvalidArgumentException` of @aws-sdk/client-kinesis, HTTP 400).
 *
 * Sources:
 * - Kinesis API Reference, PutRecords (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html):
 *   "Each PutRecords request can support up to 500 records. Each record in the request can be as large as
 *   1 MiB, up to a limit of 5 MiB for the entire request, including partition keys", and "The record size
 *   limit applies to the total size of the partition key and data blob"; `Records`: "Array Members: Minimum
 *   number of 1 item. Maximum number of 500 items".
 * - PutRecordsRequestEntry (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html):
 *   `PartitionKey` "Length Constraints: Minimum length of 1. Maximum length of 256"; `Data` "Length
 *   Constraints: Minimum length of 0. Maximum length of 1048576" (the stream's default maximum record size).
 * - The error shapes: the service answers a broken length constraint with a `ValidationException` ("1
 *   validation error detected: Value … at 'records.N.member.data' failed to satisfy constraint: Member must
 *   have length less than or equal to 1048576", awslabs/kinesis-aggregation#30), and the request-wide size
 *   limits with an `InvalidArgumentException` (floci-io/floci#2438 reproduces AWS's whole-request refusal).
 *
 * Partition key lengths are counted in UTF-16 code units (the service is Java: `String.length()`); that is
 * never fewer than the Unicode characters the documentation names, so the stand-in is never more lenient.
 */
import { InvalidArgumentException, ValidationException } from '@aws-sdk/client-kinesis';

export const KINESIS_LIMITS = {
  maxRecordsPerPut: 500,
  /** Data + partition key of one record (the stream's default maximum record size). */
  maxRecordBytes: 1024 * 1024,
  /** Data + partition keys of one PutRecords request. */
  maxPutBytes: 5 * 1024 * 1024,
  minPartitionKeyChars: 1,
  maxPartitionKeyChars: 256,
} as const;

const metadata = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };

const validation = (at: string, constraint: string) =>
  new ValidationException({
    message: `1 validation error detected: Value at '${at}' failed to satisfy constraint: ${constraint}`,
    $metadata: metadata,
  });

const invalidArgument = (message: string) => new InvalidArgumentException({ message, $metadata: metadata });

interface Entry {
  readonly PartitionKey?: string;
  readonly Data?: Uint8Array;
}

/** Throws what Kinesis answers to a PutRecords request outside its limits; returns when AWS would take it. */
export function checkPutRecords(records: readonly Entry[] | undefined): void {
  const list = records ?? [];
  if (list.length < 1) throw validation('records', 'Member must have length greater than or equal to 1');
  if (list.length > KINESIS_LIMITS.maxRecordsPerPut)
    throw validation(
      'records',
      `Member must have length less than or equal to ${KINESIS_LIMITS.maxRecordsPerPut}`,
    );
  let total = 0;
  list.forEach((r, i) => {
    const at = `records.${i + 1}.member`;
    const key = r.PartitionKey;
    if (key === undefined) throw validation(`${at}.partitionKey`, 'Member must not be null');
    if (r.Data === undefined) throw validation(`${at}.data`, 'Member must not be null');
    if (key.length < KINESIS_LIMITS.minPartitionKeyChars)
      throw validation(`${at}.partitionKey`, 'Member must have length greater than or equal to 1');
    if (key.length > KINESIS_LIMITS.maxPartitionKeyChars)
      throw validation(
        `${at}.partitionKey`,
        `Member must have length less than or equal to ${KINESIS_LIMITS.maxPartitionKeyChars}`,
      );
    if (r.Data.byteLength > KINESIS_LIMITS.maxRecordBytes)
      throw validation(
        `${at}.data`,
        `Member must have length less than or equal to ${KINESIS_LIMITS.maxRecordBytes}`,
      );
    const size = r.Data.byteLength + Buffer.byteLength(key);
    if (size > KINESIS_LIMITS.maxRecordBytes)
      throw invalidArgument(
        `Record ${i + 1} is ${size} bytes with its partition key, limit ${KINESIS_LIMITS.maxRecordBytes}`,
      );
    total += size;
  });
  if (total > KINESIS_LIMITS.maxPutBytes)
    throw invalidArgument(`Records size exceeds 5 MB limit: ${total} bytes`);
}
