/**
 * Regions the pipeline can be deployed to: those where all three regional features it needs exist.
 * - Glue Data Catalog table optimizers (compaction, snapshot retention, orphan file deletion): AWS Glue guide,
 *   "Supported Regions for table optimizers" (the narrowest of the three lists).
 * - The Firehose Apache Iceberg Tables destination: Firehose guide, "Considerations and limitations" (all
 *   Regions except China, AWS GovCloud (US), Asia Pacific (Taipei, Malaysia, New Zealand) and Mexico (Central)).
 * - API Gateway HTTP APIs: every commercial Region above; the last of them, Asia Pacific (Jakarta), got HTTP
 *   APIs on 2025-03-03 (What's New, "Amazon API Gateway HTTP APIs … in additional Regions").
 */
export const SUPPORTED_REGIONS: Readonly<Record<string, string>> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-2': 'US West (Oregon)',
  'ca-central-1': 'Canada (Central)',
  'sa-east-1': 'South America (São Paulo)',
  'eu-west-1': 'Europe (Ireland)',
  'eu-west-2': 'Europe (London)',
  'eu-central-1': 'Europe (Frankfurt)',
  'eu-north-1': 'Europe (Stockholm)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-southeast-3': 'Asia Pacific (Jakarta)',
};

/**
 * Refuses a concrete region that lacks a feature the pipeline needs. An environment-agnostic synth (no
 * region resolved) is not checked: CloudFormation then deploys wherever the CLI points.
 */
export function assertRegionSupported(region: string | undefined): void {
  if (region === undefined || region.startsWith('${Token')) return;
  if (!(region in SUPPORTED_REGIONS)) {
    throw new Error(
      `region ${region} is not supported: it lacks Glue table optimizers, API Gateway HTTP APIs or the Firehose ` +
        `Iceberg destination. Supported regions: ${Object.keys(SUPPORTED_REGIONS).join(', ')}`,
    );
  }
}
