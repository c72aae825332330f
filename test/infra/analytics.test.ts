/** Analytics: the Athena workgroup and named queries, defaults exercised. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { describe, it } from 'vitest';
import { Analytics } from '../../infra/constructs/analytics.js';
import { LAKE_QUERIES } from '../../infra/lake-queries.js';
import { constructStack } from '../support/construct-stack.js';

describe('Analytics', () => {
  it('enforces engine 3, a 100 GiB scan cutoff and encrypted results by default, and is deleted with the stack', () => {
    const s = constructStack();
    new Analytics(s.stack, 'Analytics', { bucket: s.bucket(), databaseName: 'db', queries: LAKE_QUERIES });
    const t = s.template();
    t.hasResource('AWS::Athena::WorkGroup', {
      DeletionPolicy: 'Delete',
      Properties: {
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          BytesScannedCutoffPerQuery: 100 * 1024 ** 3,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
        },
      },
    });
    t.resourceCountIs('AWS::Athena::NamedQuery', LAKE_QUERIES.length);
  });

  it('takes the cutoff, the removal policy and the queries from its props', () => {
    const s = constructStack();
    new Analytics(s.stack, 'Analytics', {
      bucket: s.bucket(),
      databaseName: 'db',
      queries: [],
      bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const t = s.template();
    t.hasResource('AWS::Athena::WorkGroup', {
      DeletionPolicy: 'Retain',
      Properties: { WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 10 * 1024 ** 3 } },
    });
    t.resourceCountIs('AWS::Athena::NamedQuery', 0);
  });
});
