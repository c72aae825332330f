/**
 * `npm start`: the whole pipeline on the embedded emulator. Installs the emulator when missing, starts it,
 * deploys the CDK app, seeds the title catalog, sends a demo batch through the pipeline, and prints
 * ready-to-paste calls. Keeps running until Ctrl-C (or exits at once with --exit).
 */

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { signedClient } from '../test/support/signed-http.js';
import {
  deployApp,
  EMULATOR_CREDENTIALS,
  emulatorEnv,
  ensureEmulatorInstalled,
  LOCAL_DIR,
  ROOT,
  type RunningEmulator,
  stackOutputs,
  startEmulator,
} from './emulator.js';
import { type DeliveryHandle, type LocalSession, SESSION_FILE, startDelivery } from './lake.js';
import { sampleCatalog, seedCatalog } from './seed-catalog.js';

// The local tools run on the machine's Node.js (20 here); the deployed functions run on Node.js 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `Usage: npm start -- [options]

Runs the impressions pipeline locally on the embedded AWS emulator (no AWS account, no Docker).

Options:
  --events <n>   demo impressions to send through the pipeline (default 200, 0 for none)
  --exit         stop everything after the demo instead of waiting for Ctrl-C
  -h, --help     show this help
`;

async function step<T>(title: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`  … ${title}\n`);
  const result = await fn();
  process.stdout.write(`  ✓ ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  return result;
}

async function main(): Promise<number> {
  let args: ReturnType<
    typeof parseArgs<{
      options: {
        events: { type: 'string' };
        exit: { type: 'boolean' };
        help: { type: 'boolean'; short: 'h' };
      };
    }>
  >;
  try {
    args = parseArgs({
      options: {
        events: { type: 'string' },
        exit: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const events = Number(args.values.events ?? '200');
  if (!Number.isInteger(events) || events < 0 || events > 100_000) {
    process.stderr.write(`--events must be an integer from 0 to 100000, got ${args.values.events}\n`);
    return 2;
  }

  process.stdout.write('impressions: local pipeline on the embedded emulator\n');
  await step('emulator installed (.venv/)', () => ensureEmulatorInstalled());
  let emu: RunningEmulator | undefined;
  let delivery: DeliveryHandle | undefined;
  const stop = async () => {
    if (delivery) await delivery.stop();
    if (emu) await emu.stop();
  };
  try {
    // One handler for the whole run: Ctrl-C (often delivered twice, by the terminal and by the npm/tsx
    // wrappers) asks for a graceful stop, and later signals are absorbed while it happens.
    let interrupted: () => void = () => {};
    const stopRequested = new Promise<void>((resolve) => {
      interrupted = resolve;
    });
    let signalled = false;
    const onSignal = () => {
      signalled = true;
      interrupted();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    emu = await step('emulator started', () => startEmulator({ handleSignals: false }));
    const env = emulatorEnv(emu.endpoint);
    const endpoint = emu.endpoint;
    const logTo = path.join(LOCAL_DIR, 'deploy.log');
    const names = await step(`CDK app deployed (stage "local", log: ${path.relative(ROOT, logTo)})`, () =>
      deployApp(env, { logTo }),
    );
    const clientConfig = {
      region: EMULATOR_CREDENTIALS.AWS_REGION,
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
    };
    const outputs = await stackOutputs(names, new CloudFormationClient(clientConfig));
    const docs = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig));
    await step('title catalog seeded (1000 titles)', () => seedCatalog(docs, outputs.TitleCatalogTableName!));
    delivery = await step('local Iceberg delivery started (log: .local/lake/delivery.log)', () =>
      startDelivery({ endpoint, pipelineStack: names[1]!, bufferSeconds: 5 }),
    );
    const session: LocalSession = { endpoint, pipelineStack: names[1]!, outputs };
    writeFileSync(SESSION_FILE, JSON.stringify(session, null, 2));

    const profileId = `demo-${randomUUID().slice(0, 6)}`;
    if (events > 0) {
      await step(`${events} demo impressions sent and visible in the history API`, async () => {
        const kinesis = new KinesisClient(clientConfig);
        const catalog = sampleCatalog(40);
        for (let i = 0; i < events; i += 500) {
          const n = Math.min(500, events - i);
          await kinesis.send(
            new PutRecordsCommand({
              StreamName: outputs.RawStreamName,
              Records: Array.from({ length: n }, (_, k) => {
                const j = i + k;
                return {
                  PartitionKey: profileId,
                  Data: Buffer.from(
                    JSON.stringify({
                      schema: 'impression/1-0-0',
                      eventId: randomUUID(),
                      eventTime: new Date(Date.now() - (events - j) * 1000).toISOString(),
                      profileId,
                      accountId: 'demo-account',
                      sessionId: 'demo-session',
                      device: { type: 'tv' },
                      country: 'US',
                      page: 'home',
                      row: { index: Math.floor(j / 10) % 10, id: `row-${Math.floor(j / 10) % 10}` },
                      position: j % 10,
                      titleId: catalog[j % catalog.length]!.titleId,
                      artworkId: 'art-1',
                      visibility: { percent: 100, durationMs: 1500 },
                    }),
                  ),
                };
              }),
            }),
          );
        }
        process.env.AWS_ACCESS_KEY_ID = 'test';
        process.env.AWS_SECRET_ACCESS_KEY = 'test';
        const api = signedClient(outputs.HistoryApiUrl, { region: EMULATOR_CREDENTIALS.AWS_REGION });
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const r = await api('GET', `/v1/profiles/${profileId}/impressions?limit=500`);
          if (r.status === 200 && (r.json() as { items: unknown[] }).items.length >= Math.min(events, 500))
            return;
          await new Promise((res) => setTimeout(res, 250));
        }
        throw new Error('demo impressions did not reach the history API within 60 s');
      });
    }

    const sig = `--aws-sigv4 "aws:amz:${EMULATOR_CREDENTIALS.AWS_REGION}:execute-api" --user test:test`;
    process.stdout.write(`
Stack outputs:
${Object.entries(outputs)
  .map(([k, v]) => `  ${k.padEnd(22)} ${v}`)
  .join('\n')}

Try it (another terminal):
  export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${EMULATOR_CREDENTIALS.AWS_REGION}
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profileId}/impressions?limit=3'
  curl -s ${sig} '${outputs.HistoryApiUrl}/v1/profiles/${profileId}/frequency?titleIds=title-0001,title-0002&window=1d'

Query the local lake (Iceberg, committed every 5 s):
  npm run query -- "SELECT title_name, count(*) AS n FROM impressions GROUP BY 1 ORDER BY n DESC LIMIT 5"
  npm run query -- --named profile-history --param ${profileId}
`);
    if (args.values.exit) {
      await stop();
      process.stdout.write('\nstopped.\n');
      return 0;
    }
    process.stdout.write('\nRunning. Ctrl-C stops the emulator and everything it runs.\n');
    if (!signalled) await stopRequested;
    await stop();
    process.stdout.write('\nstopped.\n');
    return 0;
  } catch (err) {
    await stop();
    process.stderr.write(`\n✗ ${(err as Error).message}\n`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
