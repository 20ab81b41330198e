// POST /api/agents/artifacts/{id}/s3: an agent asks for one presigned S3 request of a multipart
// upload of that artifact. The hub picks the bucket and the object key (<prefix>/<key id>/<id>),
// so an agent can only ever write its own artifacts, and it never holds S3 credentials.
//   { action: "create", sha256? }               → POST  <key>?uploads          (answer holds UploadId)
//   { action: "part", upload_id, part_number }  → PUT   <key>?partNumber&uploadId (answer header ETag)
//   { action: "complete", upload_id }           → POST  <key>?uploadId          (body: part list XML)
//   { action: "abort", upload_id }              → DELETE <key>?uploadId
// Answer: { url, method, headers, location }; the agent sends exactly `headers` with its request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import { ARTIFACT_ID } from './upload-handler.ts';
import { presignS3Url } from './s3-presign.ts';
import type { PresignRequest } from './s3-presign.ts';
import type { S3Settings } from './s3-settings.ts';

const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_BODY_BYTES = 16 * 1024;
/** A part URL lives long enough for a 5 GiB part on a slow line; the others are used at once. */
const PART_URL_EXPIRES_S = 6 * 3600;
const CONTROL_URL_EXPIRES_S = 900;

const uploadId = z.string().regex(/^[A-Za-z0-9._~+/=-]{1,1024}$/, 'upload_id is the UploadId S3 answered to "create"');

export const s3PresignBodySchema = z.discriminatedUnion(
  'action',
  [
    z.object({
      action: z.literal('create'),
      sha256: z
        .string()
        .regex(/^[a-f0-9]{64}$/, 'sha256 is 64 lower-case hex digits')
        .optional(),
    }),
    z.object({ action: z.literal('part'), upload_id: uploadId, part_number: z.number().int().min(1).max(10_000, 'S3 allows part numbers 1-10000') }),
    z.object({ action: z.literal('complete'), upload_id: uploadId }),
    z.object({ action: z.literal('abort'), upload_id: uploadId }),
  ],
  { message: 'action must be one of create, part, complete, abort' },
);

export type S3PresignBody = z.infer<typeof s3PresignBodySchema>;

export interface S3PresignOptions {
  /** null when the hub has no S3 sink configured. */
  s3: S3Settings | null;
  /** The authenticated agent key's id (never the key). */
  keyId: string;
  log: Logger;
  now?: () => Date;
}

export interface S3PresignAnswer {
  url: string;
  method: PresignRequest['method'];
  headers: Record<string, string>;
  location: string;
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The presigned request for one step, or the reason it cannot be given. */
export function presignStep(s3: S3Settings, keyId: string, artifactId: string, body: S3PresignBody, now = new Date()): S3PresignAnswer {
  const key = `${s3.prefix}/${keyId}/${artifactId}`;
  const base = { endpoint: s3.endpoint, bucket: s3.bucket, key, region: s3.region, credentials: s3.credentials, now };
  const location = `s3:${s3.bucket}/${key}`;
  const sign = (method: PresignRequest['method'], query: Record<string, string>, expiresS: number, headers: Record<string, string> = {}): S3PresignAnswer => ({
    url: presignS3Url({ ...base, method, query, headers, expiresS }),
    method,
    headers,
    location,
  });
  switch (body.action) {
    case 'create':
      return sign('POST', { uploads: '' }, CONTROL_URL_EXPIRES_S, body.sha256 ? { 'x-amz-meta-tether-sha256': body.sha256 } : {});
    case 'part':
      return sign('PUT', { partNumber: String(body.part_number), uploadId: body.upload_id }, PART_URL_EXPIRES_S);
    case 'complete':
      return sign('POST', { uploadId: body.upload_id }, CONTROL_URL_EXPIRES_S);
    case 'abort':
      return sign('DELETE', { uploadId: body.upload_id }, CONTROL_URL_EXPIRES_S);
  }
}

export async function handleS3Presign(req: IncomingMessage, res: ServerResponse, options: S3PresignOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://hub').pathname;
  const match = /^\/api\/agents\/artifacts\/([^/]+)\/s3$/.exec(path);
  const id = match ? decodeURIComponent(match[1]!) : '';
  if (req.method !== 'POST') return reply(res, 405, { error: 'use POST /api/agents/artifacts/{id}/s3' });
  if (!ARTIFACT_ID.test(id)) return reply(res, 400, { error: 'artifact id must look like <target>-20261122T040000Z-1a2b3c4d' });
  if (!KEY_ID.test(options.keyId)) return reply(res, 500, { error: 'invalid key id' });
  if (!options.s3) return reply(res, 501, { error: 'this hub has no S3 sink: start it with --s3-bucket (and --s3-endpoint, --s3-region) and S3 credentials' });
  let raw: unknown;
  try {
    raw = await readJson(req);
  } catch (error) {
    return reply(res, 400, { error: `body must be JSON such as {"action":"create"}: ${(error as Error).message}` });
  }
  const parsed = s3PresignBodySchema.safeParse(raw);
  if (!parsed.success) return reply(res, 400, { error: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') });
  const answer = presignStep(options.s3, options.keyId, id, parsed.data, options.now?.() ?? new Date());
  options.log.info({ id, keyId: options.keyId, action: parsed.data.action }, 'S3 request presigned');
  return reply(res, 200, { ...answer });
}
