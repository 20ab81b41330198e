// The hand-written SigV4 presigner against AWS's own signer (@smithy/signature-v4, what the AWS SDK
// for JavaScript signs with), over generated requests of the shapes the hub presigns: multipart
// steps (PUT/POST/DELETE with uploadId, partNumber, uploads), signed x-amz-meta headers, session
// tokens, keys with spaces, unicode and reserved characters, path and virtual-host addressing.
// s3-presign.test.ts keeps the AWS documentation example; this checks everything around it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import fc from 'fast-check';
import { SignatureV4 } from '@smithy/signature-v4';
import { presignS3Url } from '../../src/artifacts/s3-presign.ts';
import type { PresignRequest } from '../../src/artifacts/s3-presign.ts';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

/** node:crypto in the shape @smithy/signature-v4 wants: a hash, or an HMAC when given a secret. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** The signature AWS's signer gives the same request (UNSIGNED-PAYLOAD, headers kept as headers). */
async function awsSignature(request: PresignRequest): Promise<string> {
  const endpoint = new URL(request.endpoint);
  const virtual = request.addressing === 'virtual';
  const headers: Record<string, string> = { host: virtual ? `${request.bucket}.${endpoint.host}` : endpoint.host, ...request.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const signer = new SignatureV4({ service: 's3', region: request.region, credentials: request.credentials, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
  const base = endpoint.pathname.replace(/\/+$/, '');
  const presigned = await signer.presign(
    {
      method: request.method,
      protocol: endpoint.protocol,
      hostname: headers.host!.replace(/:\d+$/, ''),
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: virtual ? `${base}/${request.key}` : `${base}/${request.bucket}/${request.key}`,
      query: { ...request.query },
      headers,
    },
    {
      expiresIn: request.expiresS ?? 900,
      signingDate: request.now!,
      // As the AWS S3 presigner: the payload hash is "UNSIGNED-PAYLOAD" and not a signed header;
      // the hub's x-amz-meta headers stay headers the client must send.
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      unhoistableHeaders: new Set(['x-amz-content-sha256', ...Object.keys(request.headers ?? {})]),
    },
  );
  return String(presigned.query?.['X-Amz-Signature']);
}

const keySegment = fc.stringMatching(/^[A-Za-z0-9 ._~+=&%@!$'()*,;:é名✓-]{1,12}$/).filter((segment) => segment !== '.' && segment !== '..');
const step = fc.oneof(
  fc.constant({ method: 'POST' as const, query: { uploads: '' } }),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9._/+=-]{1,40}$/), fc.integer({ min: 1, max: 10_000 })).map(([uploadId, part]) => ({ method: 'PUT' as const, query: { partNumber: String(part), uploadId } })),
  fc.stringMatching(/^[A-Za-z0-9._/+=-]{1,40}$/).map((uploadId) => ({ method: 'POST' as const, query: { uploadId } })),
  fc.stringMatching(/^[A-Za-z0-9._/+=-]{1,40}$/).map((uploadId) => ({ method: 'DELETE' as const, query: { uploadId } })),
  fc.constant({ method: 'GET' as const, query: {} }),
);
const request: fc.Arbitrary<PresignRequest> = fc
  .record({
    step,
    endpoint: fc.constantFrom('https://s3.eu-central-1.amazonaws.com', 'http://127.0.0.1:4566', 'https://minio.example.com:9000', 'https://storage.example.com/s3-prefix'),
    bucket: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/),
    key: fc.array(keySegment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/')),
    region: fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2'),
    sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9/+=]{16,64}$/), { nil: undefined }),
    sha256: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined }),
    expiresS: fc.integer({ min: 1, max: 604_800 }),
    now: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => new Date(Math.floor(date.getTime() / 1000) * 1000)),
    addressing: fc.constantFrom('path' as const, 'virtual' as const),
  })
  .map((r) => ({
    method: r.step.method,
    query: r.step.query,
    endpoint: r.endpoint,
    bucket: r.bucket,
    key: r.key,
    region: r.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(r.sessionToken ? { sessionToken: r.sessionToken } : {}) },
    ...(r.sha256 ? { headers: { 'x-amz-meta-tether-sha256': r.sha256 } } : {}),
    expiresS: r.expiresS,
    now: r.now,
    // Virtual hosts need a DNS name (the hub itself always uses path style).
    addressing: r.endpoint.includes('127.0.0.1') ? 'path' : r.addressing,
  }));

test("property: every presigned URL carries the signature AWS's own signer computes", async () => {
  await fc.assert(
    fc.asyncProperty(request, async (input) => {
      const ours = new URL(presignS3Url(input)).searchParams.get('X-Amz-Signature');
      assert.equal(ours, await awsSignature(input), JSON.stringify(input));
    }),
    { numRuns: 500 },
  );
});

test('the oracle is wired right: it tells a changed request apart', async () => {
  const base: PresignRequest = {
    method: 'PUT',
    endpoint: 'https://s3.eu-central-1.amazonaws.com',
    bucket: 'backups',
    key: 'tether/key7/site-1',
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
    query: { partNumber: '3', uploadId: 'up/1+x=' },
    now: new Date('2026-11-22T04:00:00Z'),
  };
  const ours = new URL(presignS3Url(base)).searchParams.get('X-Amz-Signature');
  assert.equal(ours, await awsSignature(base));
  assert.notEqual(ours, await awsSignature({ ...base, query: { partNumber: '4', uploadId: 'up/1+x=' } }));
  assert.notEqual(ours, await awsSignature({ ...base, key: 'tether/key7/site-2' }));
});
