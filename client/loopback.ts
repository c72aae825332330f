/**
 * A `fetch` for local API hosts (`<id>.execute-api.localhost:<port>`, the emulator's): `*.localhost` names
 * are not resolved by every resolver, and `fetch` does not let a caller set `Host`, so these requests go to
 * the loopback address over `node:http` with the API's host name in `Host` (as it was signed).
 */
import type { IncomingHttpHeaders } from 'node:http';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export const isLoopbackHost = (hostname: string) => hostname.endsWith('.localhost');

const headerPairs = (h: IncomingHttpHeaders): [string, string][] =>
  Object.entries(h).flatMap(([k, v]) =>
    v === undefined ? [] : Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v]],
  );

export const loopbackFetch: FetchLike = async (input, init) => {
  const url = new URL(input);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  headers.host = url.host;
  const body = typeof init.body === 'string' ? init.body : undefined;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      {
        method: init.method ?? 'GET',
        host: '127.0.0.1',
        port: url.port || undefined,
        path: url.pathname + url.search,
        headers,
        servername: url.hostname,
        signal: init.signal ?? undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const nullBody = status === 204 || status === 304;
          resolve(
            new Response(nullBody ? null : Buffer.concat(chunks), {
              status,
              headers: headerPairs(res.headers),
            }),
          );
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
};
