// Downloads over HTTP(S) with undici: streamed to disk, size-capped, retried with backoff,
// through HTTP(S)_PROXY / NO_PROXY when set (EnvHttpProxyAgent). Loaded with the rest of the
// update code on the first update (update-command.ts imports it lazily), not at agent start.
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EnvHttpProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { Backoff } from '@tether/shared/backoff.ts';
import { TetherError } from '@tether/shared/errors.ts';

export class DownloadError extends TetherError {
  override name = 'DownloadError';
  /** False for answers that retrying cannot change (404, a file larger than allowed). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super('TETHER_ERR_DOWNLOAD', message);
    this.retryable = retryable;
  }
}

export interface DownloadOptions {
  userAgent: string;
  signal?: AbortSignal;
  attempts?: number;
  /** First backoff window in ms (doubles per attempt). */
  backoffBaseMs?: number;
}

let dispatcher: Dispatcher | undefined;

function proxyAwareDispatcher(): Dispatcher {
  dispatcher ??= new EnvHttpProxyAgent({ headersTimeout: 30_000, bodyTimeout: 60_000 });
  return dispatcher;
}

async function withRetries<T>(what: string, options: DownloadOptions, attempt: () => Promise<T>): Promise<T> {
  const backoff = new Backoff({ baseMs: options.backoffBaseMs ?? 500, capMs: 8000 });
  const attempts = options.attempts ?? 4;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = !(error instanceof DownloadError) || error.retryable;
      if (!retryable || i >= attempts || options.signal?.aborted) {
        const message = error instanceof DownloadError ? error.message : `${what}: ${(error as Error).message}`;
        throw new DownloadError(i > 1 ? `${message} (after ${i} attempts)` : message, false);
      }
      await new Promise((done) => setTimeout(done, Math.max(100, backoff.next())));
    }
  }
}

async function get(url: string, options: DownloadOptions) {
  const response = await request(url, {
    method: 'GET',
    dispatcher: proxyAwareDispatcher(),
    headers: { 'user-agent': options.userAgent },
    signal: options.signal,
  });
  if (response.statusCode !== 200) {
    const detail = (await response.body.text().catch(() => '')).slice(0, 300);
    const retryable = response.statusCode >= 500 || response.statusCode === 429;
    throw new DownloadError(`GET ${url} answered ${response.statusCode}${detail ? `: ${detail}` : ''}`, retryable);
  }
  return response;
}

/** GET a small JSON document (at most maxBytes). */
export async function fetchJson(url: string, maxBytes: number, options: DownloadOptions): Promise<unknown> {
  return withRetries(`GET ${url}`, options, async () => {
    const response = await get(url, options);
    const text = await response.body.text();
    if (Buffer.byteLength(text) > maxBytes) throw new DownloadError(`GET ${url}: answer larger than ${maxBytes} bytes`, false);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DownloadError(`GET ${url}: answer is not JSON`, false);
    }
  });
}

/**
 * Streams url into path (mode 0600), refusing more than maxBytes; fsyncs before returning.
 * Each attempt starts the file over; a failed download leaves no file behind.
 */
export async function downloadToFile(url: string, path: string, maxBytes: number, options: DownloadOptions): Promise<number> {
  try {
    return await withRetries(`GET ${url}`, options, async () => {
      const response = await get(url, options);
      let bytes = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > maxBytes) return done(new DownloadError(`GET ${url}: more than the expected ${maxBytes} bytes; refused`, false));
          done(null, chunk);
        },
      });
      await pipeline(response.body, cap, createWriteStream(path, { mode: 0o600 }));
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return bytes;
    });
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}
