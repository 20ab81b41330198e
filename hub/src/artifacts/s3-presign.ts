// AWS Signature Version 4, query-string form ("presigned URL"), with node:crypto only. The hub
// signs; whoever holds the URL may make exactly that one request until it expires, and never sees
// the credentials. Path-style URLs (<endpoint>/<bucket>/<key>) by default, so that any
// S3-compatible server works.
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface PresignRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  /** http(s)://host[:port], e.g. https://s3.eu-central-1.amazonaws.com */
  endpoint: string;
  bucket: string;
  key: string;
  region: string;
  credentials: S3Credentials;
  /** Extra query parameters that are part of the request (uploadId, partNumber, uploads). */
  query?: Record<string, string>;
  /** Headers the client must send with exactly these values (signed). `host` is always signed. */
  headers?: Record<string, string>;
  expiresS?: number;
  now?: Date;
  /** "path" (default): <endpoint>/<bucket>/<key>. "virtual": <bucket>.<endpoint host>/<key>. */
  addressing?: 'path' | 'virtual';
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters stay, everything else %XX). */
export function uriEncode(value: string, keepSlash = false): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9\-._~]/.test(char) || (keepSlash && char === '/')) return char;
      return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function amzDate(now: Date): { stamp: string; day: string } {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return { stamp, day: stamp.slice(0, 8) };
}

export function signingKey(secret: string, day: string, region: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
}

/** The presigned URL for one request. */
export function presignS3Url(request: PresignRequest): string {
  const endpoint = new URL(request.endpoint);
  const { stamp, day } = amzDate(request.now ?? new Date());
  const scope = `${day}/${request.region}/s3/aws4_request`;
  const virtual = request.addressing === 'virtual';
  const host = virtual ? `${request.bucket}.${endpoint.host}` : endpoint.host;
  const headers: Record<string, string> = { host };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value.trim();
  const signedHeaders = Object.keys(headers).sort().join(';');
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const path = virtual ? `${basePath}/${uriEncode(request.key, true)}` : `${basePath}/${uriEncode(request.bucket)}/${uriEncode(request.key, true)}`;
  const query: Record<string, string> = {
    ...request.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${request.credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': stamp,
    'X-Amz-Expires': String(request.expiresS ?? 900),
    'X-Amz-SignedHeaders': signedHeaders,
    ...(request.credentials.sessionToken ? { 'X-Amz-Security-Token': request.credentials.sessionToken } : {}),
  };
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((name) => `${uriEncode(name)}=${uriEncode(query[name]!)}`)
    .join('&');
  const canonicalHeaders = Object.keys(headers)
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = createHmac('sha256', signingKey(request.credentials.secretAccessKey, day, request.region))
    .update(stringToSign)
    .digest('hex');
  return `${endpoint.protocol}//${host}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}
