// Uploads an artifact file to S3 through URLs the hub presigns (POST /api/agents/artifacts/{id}/s3):
// the host never holds S3 credentials and can only write the object key the hub chose for it.
// Multipart: create → parts (each streamed from the file, retried on failure) → complete; any
// failure aborts the upload so that no half object lingers in the bucket. Memory: one part's
// read stream at a time, whatever the artifact size.
import { createReadStream } from 'node:fs';
import { httpRequest } from './http-request.ts';
import { z } from 'zod';
import { VERSION } from '@tether/shared/version.ts';
import type { Manifest } from '../manifest.ts';
import { hubHttpBase } from './hub-upload.ts';

export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_BYTES = 5 << 20;
const MIB = 1 << 20;
const PART_ATTEMPTS = 3;

/** The smallest whole-MiB part size ≥ `minBytes` that fits `size` bytes into 10,000 parts. */
export function choosePartSize(size: number, minBytes = S3_MIN_PART_BYTES): number {
  const needed = Math.ceil(size / S3_MAX_PARTS);
  return Math.max(minBytes, Math.ceil(needed / MIB) * MIB);
}

const presignAnswerSchema = z.object({
  url: z.url(),
  method: z.enum(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']),
  headers: z.record(z.string(), z.string()).default({}),
  location: z.string().min(1),
});
type PresignAnswer = z.infer<typeof presignAnswerSchema>;

export interface HubEndpoint {
  serverUrl: string;
  apiKey: string;
}

async function presign(hub: HubEndpoint, id: string, body: Record<string, unknown>, signal: AbortSignal): Promise<PresignAnswer> {
  const response = await httpRequest(`${hubHttpBase(hub.serverUrl)}/api/agents/artifacts/${encodeURIComponent(id)}/s3`, {
    method: 'POST',
    signal,
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${hub.apiKey}`, 'content-type': 'application/json', 'user-agent': `tether-agent/${VERSION}` },
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`hub refused to presign S3 "${String(body.action)}" for ${id} (HTTP ${response.statusCode}): ${text.slice(0, 300)}`);
  const parsed = presignAnswerSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`hub answered the S3 presign request with something unexpected: ${parsed.error.message}`);
  return parsed.data;
}

interface S3Answer {
  status: number;
  etag: string | undefined;
  text: string;
}

async function send(step: PresignAnswer, signal: AbortSignal, body?: string | NodeJS.ReadableStream, extraHeaders: Record<string, string> = {}): Promise<S3Answer> {
  const response = await httpRequest(step.url, { method: step.method, signal, body: body as never, headers: { ...step.headers, ...extraHeaders } });
  const text = await response.body.text();
  const etag = response.headers.etag;
  return { status: response.statusCode, etag: Array.isArray(etag) ? etag[0] : etag, text };
}

function s3Error(what: string, answer: S3Answer): Error {
  const code = /<Code>([^<]*)<\/Code>/.exec(answer.text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(answer.text)?.[1];
  return new Error(`S3 ${what} failed (HTTP ${answer.status}${code ? `, ${code}` : ''}): ${message ?? answer.text.slice(0, 200)}`);
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface S3UploadOptions {
  signal: AbortSignal;
  /** Smallest part; S3 needs ≥ 5 MiB for every part but the last. */
  partMinBytes?: number;
  onBytes?: (bytes: number) => void;
}

/** Uploads `path` (the artifact described by `manifest`) and returns its location "s3:<bucket>/<key>". */
export async function uploadToS3(path: string, manifest: Manifest, hub: HubEndpoint, options: S3UploadOptions): Promise<string> {
  const { signal } = options;
  const create = await presign(hub, manifest.id, { action: 'create', sha256: manifest.sha256 }, signal);
  const created = await send(create, signal);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1];
  if (created.status !== 200 || !uploadId) throw s3Error('CreateMultipartUpload', created);
  try {
    const partSize = choosePartSize(manifest.size, options.partMinBytes);
    const partCount = Math.max(1, Math.ceil(manifest.size / partSize));
    const etags: string[] = [];
    for (let number = 1; number <= partCount; number++) {
      const start = (number - 1) * partSize;
      const length = Math.min(partSize, manifest.size - start);
      etags.push(await uploadPart(path, hub, manifest.id, uploadId, number, start, length, signal));
      options.onBytes?.(start + length);
    }
    const complete = await presign(hub, manifest.id, { action: 'complete', upload_id: uploadId }, signal);
    const parts = etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`).join('');
    const completed = await send(complete, signal, `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`, { 'content-type': 'application/xml' });
    // S3 may answer 200 with an <Error> body when completion fails late.
    if (completed.status !== 200 || /<Error>/.test(completed.text)) throw s3Error('CompleteMultipartUpload', completed);
    return complete.location;
  } catch (error) {
    await abort(hub, manifest.id, uploadId).catch(() => {});
    throw error;
  }
}

async function uploadPart(path: string, hub: HubEndpoint, id: string, uploadId: string, number: number, start: number, length: number, signal: AbortSignal): Promise<string> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PART_ATTEMPTS; attempt++) {
    signal.throwIfAborted();
    try {
      const step = await presign(hub, id, { action: 'part', upload_id: uploadId, part_number: number }, signal);
      const body = length > 0 ? createReadStream(path, { start, end: start + length - 1, highWaterMark: 1 << 20 }) : '';
      const answer = await send(step, signal, body, { 'content-length': String(length) });
      if (answer.status === 200 && answer.etag) return answer.etag;
      lastError = s3Error(`UploadPart ${number}`, answer);
      if (answer.status < 500 && answer.status !== 408 && answer.status !== 429) break; // not worth retrying
    } catch (error) {
      if (signal.aborted) throw error;
      lastError = error as Error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
  }
  throw lastError ?? new Error(`S3 UploadPart ${number} failed`);
}

async function abort(hub: HubEndpoint, id: string, uploadId: string): Promise<void> {
  const step = await presign(hub, id, { action: 'abort', upload_id: uploadId }, AbortSignal.timeout(30_000));
  await send(step, AbortSignal.timeout(30_000));
}
