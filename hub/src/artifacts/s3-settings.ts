// Where the hub's S3 sink lives and the credentials it signs with. Flags: --s3-endpoint,
// --s3-bucket, --s3-region. Credentials: env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
// (/ AWS_SESSION_TOKEN), else <data-dir>/s3.json (must be 0600). Agents never see them.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { S3Credentials } from './s3-presign.ts';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  /** Object keys are <prefix>/<agent key id>/<artifact id>. */
  prefix: string;
  credentials: S3Credentials;
}

export interface S3Flags {
  s3Endpoint?: string | undefined;
  s3Bucket?: string | undefined;
  s3Region?: string | undefined;
}

const flagsSchema = z.object({
  s3Endpoint: z.url({ protocol: /^https?$/, message: '--s3-endpoint must be an http(s) URL such as https://s3.eu-central-1.amazonaws.com' }).optional(),
  s3Bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, '--s3-bucket must be an S3 bucket name (3-63 lower-case letters, digits, "." or "-")'),
  s3Region: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, '--s3-region must look like us-east-1')
    .default('us-east-1'),
});

const credentialsFileSchema = z.object({
  access_key_id: z.string().min(1, 'access_key_id is required'),
  secret_access_key: z.string().min(1, 'secret_access_key is required'),
  session_token: z.string().min(1).optional(),
});

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

async function loadCredentials(dataDir: string, env: NodeJS.ProcessEnv): Promise<S3Credentials> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const file = join(dataDir, 's3.json');
  const info = await stat(file).catch(() => null);
  if (!info)
    throw new Error(`S3 is configured but there are no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write ${file} ({"access_key_id": …, "secret_access_key": …}, mode 0600)`);
  if ((info.mode & 0o077) !== 0) throw new Error(`${file} holds secrets and must not be readable by others: chmod 600 ${file}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const result = credentialsFileSchema.safeParse(parsed);
  if (!result.success) throw new Error(`${file}: ${issues(result.error)}`);
  return { accessKeyId: result.data.access_key_id, secretAccessKey: result.data.secret_access_key, sessionToken: result.data.session_token };
}

/** null when no bucket is configured (S3 off: the presign endpoint answers 501). */
export async function loadS3Settings(flags: S3Flags, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<S3Settings | null> {
  if (!flags.s3Bucket && !flags.s3Endpoint) return null;
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) throw new Error(`S3 settings: ${issues(parsed.error)}`);
  const { s3Bucket, s3Region } = parsed.data;
  const endpoint = parsed.data.s3Endpoint ?? `https://s3.${s3Region}.amazonaws.com`;
  return { endpoint, bucket: s3Bucket, region: s3Region, prefix: 'tether', credentials: await loadCredentials(dataDir, env) };
}
