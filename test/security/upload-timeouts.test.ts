// Issue 9 item 11: uploads longer than Node's 5-minute requestTimeout always failed (an empty 400).
// A hub started with a 2 s total timeout and a 2 s idle timeout proves the mechanism in seconds:
// an upload that trickles for 4 s (never 2 s without data) is stored; one that stalls is cut after
// the idle timeout and leaves nothing behind; an ordinary JSON body still has the total deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createKey, makeTempDir, startHubProcess, waitFor } from '../../hub/test/helpers/hub-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `chunks` with `gapMs` between them (then, unless `stall`, ends the request). */
function trickle(url: string, path: string, headers: Record<string, string>, chunks: Buffer[], gapMs: number, stall = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: path.startsWith('/api/agents/artifacts') ? 'PUT' : 'POST', headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        req.write(chunk);
        await sleep(gapMs);
      }
      if (!stall) req.end();
    })();
  });
}

test('uploads have an idle timeout, not a total one; other bodies keep the total one', async (t) => {
  const hub = await startHubProcess(await makeTempDir(t), ['--request-timeout-s', '2', '--upload-idle-timeout-s', '2']);
  t.after(() => hub.stop());
  const key = await createKey(hub, 'slow-uploader', ['backup']);
  const bytes = randomBytes(20 * 1024);
  const chunks = Array.from({ length: 20 }, (_, index) => bytes.subarray(index * 1024, (index + 1) * 1024));
  const headers = { authorization: `Bearer ${key.key}`, 'x-tether-sha256': createHash('sha256').update(bytes).digest('hex'), 'content-length': String(bytes.length) };

  await t.test('an upload trickling for 4 s (twice the total timeout) is stored', async () => {
    const started = Date.now();
    const answer = await trickle(hub.url, '/api/agents/artifacts/site-20261122T040000Z-0a0b0c0d', headers, chunks, 200);
    assert.ok(Date.now() - started > 3000, 'the upload really took longer than the total timeout');
    assert.equal(answer.status, 201, answer.body);
    assert.ok((await readFile(join(hub.dataDir, 'artifacts', key.id, 'site-20261122T040000Z-0a0b0c0d'))).equals(bytes));
  });

  await t.test('a stalled upload is cut after the idle timeout and leaves no partial file', async () => {
    const answer = await trickle(hub.url, '/api/agents/artifacts/site-20261122T050000Z-0a0b0c0d', headers, chunks.slice(0, 3), 100, true);
    assert.equal(answer.status, 408);
    assert.match(JSON.parse(answer.body).error, /upload stalled: no data for 2 s \(--upload-idle-timeout-s\); nothing was stored/);
    // The hub removes the partial file as the cut connection unwinds, just after answering.
    await waitFor('the partial file to be removed', async () => (await readdir(join(hub.dataDir, 'artifacts', key.id))).every((name) => !name.includes('T050000Z')) || undefined, 10_000);
  });

  await t.test('a JSON body that takes longer than the total timeout is refused 408', async () => {
    const body = Buffer.from(JSON.stringify({ events: [] }));
    const answer = await trickle(
      hub.url,
      '/api/agents/events',
      { authorization: `Bearer ${key.key}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      [...body].map((byte) => Buffer.from([byte])),
      400,
    );
    assert.equal(answer.status, 408);
    assert.match(JSON.parse(answer.body).error, /did not arrive within 2 s \(--request-timeout-s\)/);
  });
});
