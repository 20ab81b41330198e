// PUT /api/agents/artifacts/{id}: an agent uploads a backup artifact. Streamed to disk, size-
// limited, and kept only if its sha256 matches the X-Tether-Sha256 header. The router authenticates
// the agent key and passes its id; artifacts live under <dataDir>/artifacts/<keyId>/.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@tether/shared/logger.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { TetherError } from '@tether/shared/errors.ts';

export const ARTIFACT_ID = /^[a-z0-9][a-z0-9_-]{0,63}-\d{8}T\d{6}Z-[a-f0-9]{8}$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ArtifactUploadOptions {
  dataDir: string;
  /** The authenticated agent key's id (never the key). */
  keyId: string;
  log: Logger;
  maxBytes: number;
  /** Counts each received chunk against the key's quota (ArtifactReservation.take); false stops the upload. */
  take?: (bytes: number) => boolean;
  /** Says which limit maxBytes is when it is not the per-artifact one (a key's quota). */
  sizeLimitMessage?: string;
}

class SizeLimitError extends TetherError {
  override name = 'SizeLimitError';

  constructor(message: string) {
    super('TETHER_ERR_SIZE_LIMIT', message);
  }
}

class LimitedHasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly limit: number;
  private readonly message: string;
  private readonly takeBytes: ((bytes: number) => boolean) | undefined;

  constructor(limit: number, message: string, take?: (bytes: number) => boolean) {
    super();
    this.limit = limit;
    this.message = message;
    this.takeBytes = take;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit || (this.takeBytes && !this.takeBytes(chunk.length))) return callback(new SizeLimitError(this.message));
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

/** X-Tether-Sha256 value of a streamed upload: the sha256 is known only at the end (commit). */
export const STREAMED = 'streamed';
/** Streamed uploads never committed are removed after this long. */
export const PENDING_MAX_AGE_MS = 3600_000;

/** Where a streamed upload waits for its commit: `<id>.streamed` (never served, counted in the quota). */
export function pendingPath(dir: string, id: string): string {
  return join(dir, `${id}.streamed`);
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
  const streamed = expected === STREAMED;
  if (!streamed && !/^[a-f0-9]{64}$/.test(expected)) return reply(res, 400, { error: 'X-Tether-Sha256 header with the artifact\'s hex sha256 (or "streamed") is required' });
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && (!Number.isFinite(declared) || declared > maxBytes)) {
    return reply(res, 413, { error: sizeLimitMessage });
  }

  const dir = artifactDir(options.dataDir, options.keyId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const finalPath = join(dir, id);
  const existing = await stat(finalPath).catch(() => null);
  const partial = join(dir, `.${id}.${process.pid}.${Date.now()}.partial`);
  const hasher = new LimitedHasher(maxBytes, sizeLimitMessage, options.take);
  try {
    await pipeline(req, hasher, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    const sha256 = hasher.hash.digest('hex');
    if (declared !== undefined && hasher.bytes !== declared) throw new Error(`received ${hasher.bytes} bytes, Content-Length said ${declared}`);
    if (streamed) {
      // Kept aside until the agent commits with the sha256 it computed (commitStreamedArtifact).
      await rename(partial, pendingPath(dir, id));
      await writeFileAtomic(
        `${pendingPath(dir, id)}.json`,
        `${JSON.stringify({ sha256, size: hasher.bytes, target: String(req.headers['x-tether-target'] ?? ''), received_at: new Date().toISOString() })}\n`,
      );
      log.info({ id, keyId: options.keyId, size: hasher.bytes }, 'streamed artifact received; waiting for its commit');
      return reply(res, 202, { pending: true, size: hasher.bytes, sha256 });
    }
    if (sha256 !== expected) {
      await rm(partial, { force: true });
      log.warn({ id, keyId: options.keyId }, 'artifact upload refused: sha256 mismatch');
      return reply(res, 422, { error: 'sha256 of the received bytes does not match X-Tether-Sha256; nothing was stored' });
    }
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(partial, finalPath);
    const location = `hub:artifacts/${options.keyId}/${id}`;
    await writeFileAtomic(
      `${finalPath}.json`,
      `${JSON.stringify({ id, key_id: options.keyId, size: hasher.bytes, sha256, target: String(req.headers['x-tether-target'] ?? ''), received_at: new Date().toISOString() }, null, 2)}\n`,
    );
    log.info({ id, keyId: options.keyId, size: hasher.bytes }, 'artifact stored');
    return reply(res, existing ? 200 : 201, { location, size: hasher.bytes, sha256 });
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof SizeLimitError) return reply(res, 413, { error: error.message });
    log.warn({ id, err: (error as Error).message }, 'artifact upload failed');
    return reply(res, 400, { error: `upload failed: ${(error as Error).message}` });
  }
}

/**
 * POST /api/agents/artifacts/{id}/commit {sha256}: a streamed upload becomes the artifact when the
 * sha256 the agent computed while making it equals the hub's; otherwise it is removed (422).
 * Also removes this key's streamed uploads that were never committed within PENDING_MAX_AGE_MS.
 */
export async function commitStreamedArtifact(dataDir: string, keyId: string, id: string, sha256: string, log: Logger): Promise<{ status: number; body: Record<string, unknown> }> {
  const dir = artifactDir(dataDir, keyId);
  await removeStalePending(dir);
  const pending = pendingPath(dir, id);
  const record = await readFile(`${pending}.json`, 'utf8').then(
    (text) => JSON.parse(text) as { sha256: string; size: number; target: string },
    () => null,
  );
  if (!record) return { status: 404, body: { error: `no streamed upload of ${id} waits for a commit (it failed, was never sent, or is older than an hour); upload it again` } };
  if (record.sha256 !== sha256) {
    await rm(pending, { force: true });
    await rm(`${pending}.json`, { force: true });
    log.warn({ id, keyId }, 'streamed artifact refused at commit: sha256 mismatch');
    return { status: 422, body: { error: 'sha256 of the streamed bytes does not match the commit; nothing was stored' } };
  }
  const finalPath = join(dir, id);
  const existing = await stat(finalPath).catch(() => null);
  const handle = await open(pending, 'r');
  await handle.sync().finally(() => handle.close());
  await rename(pending, finalPath);
  await writeFileAtomic(
    `${finalPath}.json`,
    `${JSON.stringify({ id, key_id: keyId, size: record.size, sha256, target: record.target, received_at: new Date().toISOString(), streamed: true }, null, 2)}\n`,
  );
  await rm(`${pending}.json`, { force: true });
  log.info({ id, keyId, size: record.size }, 'streamed artifact committed');
  return { status: existing ? 200 : 201, body: { location: `hub:artifacts/${keyId}/${id}`, size: record.size, sha256 } };
}

async function removeStalePending(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  for (const name of names) {
    if (!name.endsWith('.streamed')) continue;
    const info = await stat(join(dir, name)).catch(() => null);
    if (info && now - info.mtimeMs > PENDING_MAX_AGE_MS) {
      await rm(join(dir, name), { force: true });
      await rm(join(dir, `${name}.json`), { force: true });
    }
  }
}
