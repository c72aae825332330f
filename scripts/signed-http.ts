/**
 * A SigV4-signing HTTP client for the history API (IAM auth), the same on AWS and on the emulator.
 * Emulator API hosts (`<id>.execute-api.localhost:<port>`) are reached on loopback with their Host header,
 * since `*.localhost` names are not resolved by every resolver.
 */

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: () => unknown;
}

export interface SignedClientOptions {
  readonly region: string;
  /** When false, requests are sent unsigned (to prove that the API refuses them). @default true */
  readonly sign?: boolean;
  /** Credentials to sign with (e.g. a client session's). @default the SDK's default provider chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export function signedClient(baseUrl: string, options: SignedClientOptions) {
  const base = new URL(baseUrl);
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: 'execute-api',
    sha256: Sha256,
  });
  return async (method: string, pathAndQuery: string, body?: string): Promise<ApiResponse> => {
    const url = new URL(pathAndQuery, base);
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => {
      query[k] = v;
    });
    const headers: Record<string, string> = { host: url.host };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const unsigned = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers,
      body,
    };
    const req = options.sign === false ? unsigned : await signer.sign(unsigned);
    const connectHost = url.hostname.endsWith('.localhost') ? '127.0.0.1' : url.hostname;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const r = send(
        {
          method,
          host: connectHost,
          port: url.port || undefined,
          path: url.pathname + url.search,
          headers: req.headers,
          servername: url.hostname,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: () => JSON.parse(text),
            });
          });
        },
      );
      r.on('error', reject);
      r.setTimeout(30_000, () => r.destroy(new Error(`${method} ${url} timed out`)));
      if (body !== undefined) r.write(body);
      r.end();
    });
  };
}
