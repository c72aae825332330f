/** IcebergDelivery: Firehose from a stream into one Iceberg table, defaults exercised. */
import { describe, it } from 'vitest';
import { FRESHNESS_LIMIT_SECONDS, IcebergDelivery } from '../../infra/constructs/iceberg-delivery.js';
import { constructStack } from '../support/construct-stack.js';

const delivery = (buffer: { bufferSeconds?: number; bufferMiB?: number } = {}) => {
  const s = constructStack();
  new IcebergDelivery(s.stack, 'Delivery', {
    source: s.stream(),
    bucket: s.bucket(),
    databaseName: 'db',
    tableName: 'impressions',
    ...buffer,
  });
  return s.template();
};

describe('IcebergDelivery', () => {
  it('reads the stream and buffers 300 s / 128 MiB by default, alarming on failed rows and on freshness', () => {
    const t = delivery();
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      IcebergDestinationConfiguration: {
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 128 },
        // Inserts only, set at creation (the flag can only be set by CreateDeliveryStream): docs/deploy-aws.md.
        AppendOnly: true,
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.FailedRowCount',
      Threshold: 1,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.DataFreshness',
      Threshold: FRESHNESS_LIMIT_SECONDS,
    });
  });

  it('takes the buffering from its props', () => {
    delivery({ bufferSeconds: 60, bufferMiB: 64 }).hasResourceProperties(
      'AWS::KinesisFirehose::DeliveryStream',
      {
        IcebergDestinationConfiguration: { BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 } },
      },
    );
  });
});
