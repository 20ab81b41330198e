// What a verify host (an agent key granted "verify_host") may do with other keys' artifacts, and
// where the owner's manifest lives on the hub. Files only, beside the artifact:
//   <dataDir>/artifacts/<key id>/<id>                 the bytes (hub uploads)
//   <dataDir>/artifacts/<key id>/<id>.manifest.json   the agent's manifest (row counts, kind, …)
// The latest restore test result is in the store (verify_results), where every hub of a cluster sees it.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import type { HubStore, VerifyResultRecord } from '../store/store.ts';
import { HttpError } from '../http/http-error.ts';
import { artifactDir } from './upload-handler.ts';
import { presignS3Url } from './s3-presign.ts';
import { reportedRetentionSchema } from './hub-retention.ts';
import type { S3Settings } from './s3-settings.ts';

export const VERIFY_HOST_PERMISSION = 'verify_host';
export const MAX_MANIFEST_BYTES = 4 << 20;
const GET_URL_EXPIRES_S = 6 * 3600;

/** The parts of an agent manifest the hub relies on; the rest is kept as sent. */
export const storedManifestSchema = z.looseObject({
  id: z.string(),
  target: z.string(),
  kind: z.enum(['files', 'postgres', 'mysql', 'sqlite', 'command']),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  /** The target's retention in the agent's config: what the hub keeps of this target (hub-retention.ts). */
  retention: reportedRetentionSchema.optional(),
});

export const verifyResultBodySchema = z.object({
  ok: z.boolean(),
  at: z.string().max(64),
  duration_ms: z.number().int().nonnegative(),
  checked: z.array(z.string().max(2000)).max(200),
  problems: z.array(z.string().max(4000)).max(200),
  by: z.string().max(200).optional(),
});

export async function storeManifest(dataDir: string, keyId: string, id: string, body: unknown): Promise<z.infer<typeof storedManifestSchema>> {
  const parsed = storedManifestSchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, `manifest: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
  if (parsed.data.id !== id) throw new HttpError(400, `manifest id ${parsed.data.id} is not the artifact id ${id} in the path`);
  const dir = artifactDir(dataDir, keyId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, `${id}.manifest.json`), `${JSON.stringify(parsed.data)}\n`);
  return parsed.data;
}

export async function readManifest(dataDir: string, keyId: string, id: string): Promise<Record<string, unknown>> {
  const text = await readFile(join(artifactDir(dataDir, keyId), `${id}.manifest.json`), 'utf8').catch(() => null);
  if (text === null)
    throw new HttpError(404, `the hub has no manifest of artifact ${id} of key ${keyId}: the owner uploads it with the artifact (backup {destination: "hub"|"s3"} or backup_download)`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function openStoredArtifact(dataDir: string, keyId: string, id: string): Promise<{ stream: Readable; size: number }> {
  const path = join(artifactDir(dataDir, keyId), id);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new HttpError(404, `the hub stores no artifact ${id} of key ${keyId} (an S3 artifact is fetched through …/s3)`);
  return { stream: createReadStream(path), size: info.size };
}

export function presignArtifactGet(s3: S3Settings | null, keyId: string, id: string): { url: string; method: 'GET'; headers: Record<string, string>; location: string } {
  if (!s3) throw new HttpError(501, 'this hub has no S3 sink: start it with --s3-bucket (and --s3-endpoint, --s3-region) and S3 credentials');
  const key = `${s3.prefix}/${keyId}/${id}`;
  const url = presignS3Url({ method: 'GET', endpoint: s3.endpoint, bucket: s3.bucket, key, region: s3.region, credentials: s3.credentials, expiresS: GET_URL_EXPIRES_S });
  return { url, method: 'GET', headers: {}, location: `s3:${s3.bucket}/${key}` };
}

export async function storeVerifyResult(where: { dataDir: string; store: Pick<HubStore, 'putVerifyResult'> }, keyId: string, id: string, body: unknown, byKeyId: string): Promise<VerifyResultRecord> {
  const parsed = verifyResultBodySchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, `verify result: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
  await readManifest(where.dataDir, keyId, id); // a result belongs to an artifact the hub knows
  const stored: VerifyResultRecord = { ...parsed.data, key_id: keyId, artifact_id: id, verify_key_id: byKeyId, received_at: new Date().toISOString() };
  await where.store.putVerifyResult(stored);
  return stored;
}
