// Fetches release files for a redeploy with node:http/https (the supervisor loads no HTTP
// library): streamed to disk, size-capped, retried with backoff. Does not go through a proxy.
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Backoff } from '@tether/shared/backoff.ts';

const TIMEOUT_MS = 30_000;

async function fetchOnce(url: string, path: string, maxBytes: number): Promise<void> {
  // Loaded only here: node:https pulls in TLS, megabytes the supervisor should not carry idle.
  const { get } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: TIMEOUT_MS, headers: { 'user-agent': 'tether-supervisor' } }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${url} answered ${response.statusCode}`));
        return;
      }
      const file = createWriteStream(path, { mode: 0o600 });
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          response.destroy(new Error(`GET ${url}: more than ${maxBytes} bytes; refused`));
        }
      });
      response.on('error', (error) => {
        file.destroy();
        reject(error);
      });
      response.pipe(file);
      file.on('error', reject);
      file.on('finish', () => (response.complete ? resolve() : reject(new Error(`GET ${url}: connection closed early`))));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', reject);
  });
}

export async function fetchToFile(url: string, path: string, maxBytes: number, attempts = 4): Promise<void> {
  const backoff = new Backoff({ baseMs: 500, capMs: 8000 });
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchOnce(url, path, maxBytes);
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      await rm(path, { force: true });
      if (attempt >= attempts) throw new Error(`${(error as Error).message} (after ${attempt} attempts)`);
      await new Promise((done) => setTimeout(done, Math.max(100, backoff.next())));
    }
  }
}
