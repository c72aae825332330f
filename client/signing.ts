/**
 * SigV4 signing of history API requests (`execute-api`, IAM auth) with `@smithy/signature-v4`, and the
 * SDK's standard credential chain (`fromNodeProviderChain`: environment, SSO, shared files, web identity,
 * container and instance metadata) unless credentials are given.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** What is signed: the request exactly as it is sent. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export type Signer = (request: OutgoingRequest) => Promise<Record<string, string>>;

export interface SignerOptions {
  readonly region: string;
  /** @default the SDK's default credential chain */
  readonly credentials?: Credentials;
  /** @default 'execute-api' */
  readonly service?: string;
}

/** A signer that returns the headers to send (the given ones, plus `host`, `x-amz-date`, `authorization`, …). */
export function sigV4Signer(options: SignerOptions): Signer {
  const signer = new SignatureV4({
    credentials: options.credentials ?? fromNodeProviderChain(),
    region: options.region,
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string | string[]> = {};
    url.searchParams.forEach((v, k) => {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers;
  };
}

/** Sends requests as they are (to show that the API refuses them). */
export const unsigned: Signer = async ({ url, headers }) => ({ ...headers, host: url.host });
