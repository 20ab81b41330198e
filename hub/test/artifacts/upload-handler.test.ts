import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { handleArtifactUpload } from '../../src/artifacts/upload-handler.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'tether-hub-artifacts-'));
const log = createLogger({ name: 'hub-test', secrets: () => [], destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const server = createServer((req, res) => {
  void handleArtifactUpload(req, res, { dataDir, keyId: 'key1', log, maxBytes: 1_000_000 });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(async () => {
  server.close();
  await rm(dataDir, { recursive: true, force: true });
});

const id = 'site-20261122T040000Z-1a2b3c4d';
const put = (body: Uint8Array, sha: string, artifact = id) =>
  fetch(`${base}/api/agents/artifacts/${artifact}`, { method: 'PUT', body, headers: { 'x-tether-sha256': sha, 'content-type': 'application/octet-stream' } });

test('stores an artifact whose sha256 matches, under the key directory', async () => {
  const body = randomBytes(300_000);
  const response = await put(body, createHash('sha256').update(body).digest('hex'));
  assert.equal(response.status, 201);
  const answer = (await response.json()) as { location: string; size: number };
  assert.equal(answer.location, `hub:artifacts/key1/${id}`);
  assert.ok((await readFile(join(dataDir, 'artifacts', 'key1', id))).equals(body));
  assert.equal((await stat(join(dataDir, 'artifacts', 'key1', id))).mode & 0o777, 0o600);
});

test('refuses a wrong sha256, an oversized body, a bad id, a missing header; leaves no partial files', async () => {
  const body = randomBytes(1000);
  assert.equal((await put(body, 'f'.repeat(64), 'other-20261122T040000Z-00000000')).status, 422);
  assert.equal((await put(randomBytes(1_200_000), 'a'.repeat(64), 'big-20261122T040000Z-00000000')).status, 413);
  assert.equal((await put(body, 'a'.repeat(64), '..%2F..%2Fetc')).status, 400);
  assert.equal((await fetch(`${base}/api/agents/artifacts/${id}`, { method: 'PUT', body })).status, 400);
  const files = await readdir(join(dataDir, 'artifacts', 'key1'));
  assert.deepEqual(
    files.filter((name) => !name.startsWith(id)),
    [],
  );
});
