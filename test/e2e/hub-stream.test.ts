// Streamed hub uploads (issue 13): `destination: "hub"` streams the artifact to the hub as it is
// made. A real hub, a real agent, and a TCP proxy between them that cuts any connection once it
// has carried 256 KiB upstream (the WebSocket stays up, the upload breaks in the middle): the hub
// stores nothing, the agent spools the backup locally, and once the proxy lets uploads through the
// spool uploads by itself: one artifact at the hub in the end, with the sha256 the agent reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/process.ts';

const CUT_AFTER_BYTES = 256 * 1024;
const ARTIFACT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}-\d{8}T\d{6}Z-[a-f0-9]{8}$/;

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let proxy: Server;
let keyId: string;
let mode: 'pass' | 'cut-big' = 'pass';
let cuts = 0;
const sockets = new Set<Socket>();

function startProxy(targetPort: number): Promise<number> {
  proxy = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (mode === 'cut-big' && sent > CUT_AFTER_BYTES) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)));
}

before(async () => {
  dir = await tempDir('hub-stream');
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  // A per-key quota below the per-artifact limit: a stream that reserved the whole room up front
  // would shut out a second one of the same key.
  hub = await startHub({ dataDir: hubData, args: ['--max-artifact-bytes-per-key', String(100 << 20)] });
  const port = await startProxy(hub.port);
  const key = await hub.createKey('streamer', ['ping', 'backup', 'backup_read']);
  keyId = key.id;
  const root = join(dir.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'random.bin'), randomBytes(3 << 20)); // incompressible: 3 MiB on the wire
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    [
      'allow: [ping, backup, backup_read]',
      'allow_insecure: true',
      'backup:',
      '  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]',
      '  spool_retry_s: 1',
      '  targets:',
      `    data: { kind: files, roots: [${JSON.stringify(root)}] }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  agent = startAgent(agentEnv({ wsUrl: `ws://127.0.0.1:${port}` }, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config }));
  await waitForAgent(hub, keyId);
});

after(async () => {
  await agent?.stop();
  for (const socket of sockets) socket.destroy();
  proxy?.close();
  await hub?.stop();
  await dir?.remove();
});

async function hubFiles(): Promise<string[]> {
  return readdir(join(hub.dataDir, 'artifacts', keyId)).catch(() => []);
}

test('a stream cut in the middle stores nothing; the local spool uploads once the hub is reachable; one artifact in the end', async () => {
  mode = 'cut-big';
  const made = await command(hub, keyId, 'backup', { target: 'data', destination: 'hub' }, 120);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const artifact = made.body.result.data;
  assert.ok(cuts >= 1, 'the proxy cut the streamed upload');
  assert.equal(artifact.pending_upload, 'hub');
  assert.match(artifact.location, /^local:/);
  assert.match(artifact.warnings.join('\n'), /spooled here: streaming .* to the hub broke off/);
  const localPath = artifact.location.slice('local:'.length);
  assert.ok(existsSync(localPath), 'the spooled copy is on the host');

  // Nothing of it at the hub: no artifact, no streamed upload waiting for a commit. (The spool
  // uploader keeps trying meanwhile, and the proxy keeps cutting it.)
  await waitFor(() => cuts >= 2 || undefined, 'the spool uploader to try (and be cut) again', 30_000);
  const during = await hubFiles();
  assert.equal(during.includes(artifact.id), false, during.join(', '));
  assert.equal(
    during.some((name) => name.startsWith(`${artifact.id}.streamed`)),
    false,
    during.join(', '),
  );

  mode = 'pass';
  const stored = join(hub.dataDir, 'artifacts', keyId, artifact.id);
  await waitFor(() => existsSync(stored) || undefined, 'the spooled artifact at the hub', 60_000);
  assert.equal(
    createHash('sha256')
      .update(await readFile(stored))
      .digest('hex'),
    artifact.sha256,
  );
  const listed = await waitFor(
    async () => {
      const answer = await command(hub, keyId, 'backup_list', { target: 'data' });
      const entry = answer.body.result?.data?.artifacts?.find((item: any) => item.id === artifact.id);
      return entry && !entry.pending_upload ? entry : undefined;
    },
    'the manifest to record the upload',
    30_000,
  );
  assert.equal(listed.stored_locally, false);
  assert.match(listed.location, /^hub:/);
  assert.equal(existsSync(localPath), false, 'the spooled copy is removed after the upload');
  const artifacts = (await hubFiles()).filter((name) => ARTIFACT_NAME.test(name));
  assert.deepEqual(artifacts, [artifact.id]);
});

test('with the hub reachable, the backup streams straight to it and nothing is written on the host', async () => {
  mode = 'pass';
  const made = await command(hub, keyId, 'backup', { target: 'data', destination: 'hub' }, 120);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const artifact = made.body.result.data;
  assert.equal(artifact.pending_upload, undefined);
  assert.match(artifact.location, new RegExp(`^hub:artifacts/${keyId}/${artifact.id}$`));
  const stored = await readFile(join(hub.dataDir, 'artifacts', keyId, artifact.id));
  assert.equal(createHash('sha256').update(stored).digest('hex'), artifact.sha256);
  const local = await readdir(join(dir.path, 'state', 'backups', 'data'));
  assert.deepEqual(
    local.filter((name) => name.startsWith(artifact.id)),
    [`${artifact.id}.json`],
    'only the manifest is kept on the host',
  );
});

test('the hub keeps a streamed upload only when the commit names its sha256', async () => {
  const keyOf = await hub.createKey('hand-made', ['ping']);
  const put = (id: string, body: Buffer) => fetch(`${hub.url}/api/agents/artifacts/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${keyOf.key}`, 'x-tether-sha256': 'streamed' }, body });
  const commit = (id: string, sha256: string) =>
    fetch(`${hub.url}/api/agents/artifacts/${id}/commit`, { method: 'POST', headers: { authorization: `Bearer ${keyOf.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ sha256 }) });
  const bytes = randomBytes(4096);
  const good = createHash('sha256').update(bytes).digest('hex');
  const dirOf = join(hub.dataDir, 'artifacts', keyOf.id);

  const wrongId = 'x-20261201T000000Z-0000000a';
  assert.equal((await put(wrongId, bytes)).status, 202);
  const refused = await commit(wrongId, 'f'.repeat(64));
  assert.equal(refused.status, 422);
  assert.deepEqual(await readdir(dirOf), [], 'a wrong sha256 leaves nothing');
  assert.equal((await commit(wrongId, good)).status, 404, 'and there is nothing left to commit');

  const rightId = 'x-20261201T000000Z-0000000b';
  assert.equal((await put(rightId, bytes)).status, 202);
  assert.equal((await commit(rightId, good)).status, 201);
  assert.deepEqual((await readFile(join(dirOf, rightId))).equals(bytes), true);
});

test('two streamed uploads of one key run side by side (a stream reserves only what it has received)', async () => {
  const keyOf = await hub.createKey('two-streams', ['ping']);
  let release: (() => void) | undefined;
  const first = randomBytes(8192);
  const slowBody = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(first.subarray(0, 4096));
      await new Promise<void>((resolve) => (release = resolve));
      controller.enqueue(first.subarray(4096));
      controller.close();
    },
  });
  const put = (id: string, body: ReadableStream<Uint8Array> | Buffer) =>
    fetch(`${hub.url}/api/agents/artifacts/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${keyOf.key}`, 'x-tether-sha256': 'streamed' }, body, duplex: 'half' } as RequestInit);
  const slow = put('x-20261201T000000Z-0000000c', slowBody);
  await waitFor(() => release, 'the first stream to be under way', 10_000);
  await new Promise((resolve) => setTimeout(resolve, 200)); // its first bytes are at the hub
  const second = await put('x-20261201T000000Z-0000000d', randomBytes(4096));
  assert.equal(second.status, 202, await second.text());
  release!();
  assert.equal((await slow).status, 202);
});
