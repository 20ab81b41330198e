// PUT /api/agents/artifacts/{id}: an agent uploads a backup artifact. Streamed to disk, size-
// limited, and kept only if its sha256 matches the X-Tether-Sha256 header. The router authenticates
// the agent key and passes its id; artifacts live under <dataDir>/artifacts/<keyId>/.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@tether/shared/logger.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';

export const ARTIFACT_ID = /^[a-z0-9][a-z0-9_-]{0,63}-\d{8}T\d{6}Z-[a-f0-9]{8}$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ArtifactUploadOptions {
  dataDir: string;
  /** The authenticated agent key's id (never the key). */
  keyId: string;
  log: Logger;
  maxBytes: number;
  /** Says which limit maxBytes is when it is not the per-artifact one (a key's quota). */
  sizeLimitMessage?: string;
}

class SizeLimitError extends Error {}

class LimitedHasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly limit: number;
  private readonly message: string;

  constructor(limit: number, message: string) {
    super();
    this.limit = limit;
    this.message = message;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return callback(new SizeLimitError(this.message));
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(status >= 400 ? { connection: 'close' } : {}) });
  res.end(text);
}

export function artifactDir(dataDir: string, keyId: string): string {
  return join(dataDir, 'artifacts', keyId);
}

export async function handleArtifactUpload(req: IncomingMessage, res: ServerResponse, options: ArtifactUploadOptions): Promise<void> {
  const { log, maxBytes } = options;
  const sizeLimitMessage = options.sizeLimitMessage ?? `artifact is larger than the hub's limit of ${maxBytes} bytes`;
  const path = new URL(req.url ?? '/', 'http://hub').pathname;
  const match = /^\/api\/agents\/artifacts\/([^/]+)$/.exec(path);
  const id = match ? decodeURIComponent(match[1]!) : '';
  if (req.method !== 'PUT') return reply(res, 405, { error: 'use PUT /api/agents/artifacts/{id}' });
  if (!ARTIFACT_ID.test(id)) return reply(res, 400, { error: 'artifact id must look like <target>-20261122T040000Z-1a2b3c4d' });
  if (!KEY_ID.test(options.keyId)) return reply(res, 500, { error: 'invalid key id' });
  const expected = String(req.headers['x-tether-sha256'] ?? '').toLowerCase();
  if (!/^[a-f0-9]{64}$/.test(expected)) return reply(res, 400, { error: 'X-Tether-Sha256 header with the artifact\'s hex sha256 is required' });
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && (!Number.isFinite(declared) || declared > maxBytes)) {
    return reply(res, 413, { error: sizeLimitMessage });
  }

  const dir = artifactDir(options.dataDir, options.keyId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const finalPath = join(dir, id);
  const existing = await stat(finalPath).catch(() => null);
  const partial = join(dir, `.${id}.${process.pid}.${Date.now()}.partial`);
  const hasher = new LimitedHasher(maxBytes, sizeLimitMessage);
  try {
    await pipeline(req, hasher, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    const sha256 = hasher.hash.digest('hex');
    if (declared !== undefined && hasher.bytes !== declared) throw new Error(`received ${hasher.bytes} bytes, Content-Length said ${declared}`);
    if (sha256 !== expected) {
      await rm(partial, { force: true });
      log.warn({ id, keyId: options.keyId }, 'artifact upload refused: sha256 mismatch');
      return reply(res, 422, { error: 'sha256 of the received bytes does not match X-Tether-Sha256; nothing was stored' });
    }
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(partial, finalPath);
    const location = `hub:artifacts/${options.keyId}/${id}`;
    await writeFileAtomic(`${finalPath}.json`, `${JSON.stringify({ id, key_id: options.keyId, size: hasher.bytes, sha256, target: String(req.headers['x-tether-target'] ?? ''), received_at: new Date().toISOString() }, null, 2)}\n`);
    log.info({ id, keyId: options.keyId, size: hasher.bytes }, 'artifact stored');
    return reply(res, existing ? 200 : 201, { location, size: hasher.bytes, sha256 });
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof SizeLimitError) return reply(res, 413, { error: error.message });
    log.warn({ id, err: (error as Error).message }, 'artifact upload failed');
    return reply(res, 400, { error: `upload failed: ${(error as Error).message}` });
  }
}
