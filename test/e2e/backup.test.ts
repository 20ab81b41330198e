// Backups end to end: a real hub (with S3 storage on a real fauxqs server), a real agent process,
// commands through the admin API. Artifacts are checked with the real age, zstd and tar CLIs, using
// an identity made by the real age-keygen: the agent only ever sees the public recipient.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { startFauxqs } from '../helpers/fauxqs.ts';
import type { Fauxqs } from '../helpers/fauxqs.ts';

const BUCKET = 'tether-e2e';
let dir: { path: string; remove(): Promise<void> };
let fauxqs: Fauxqs;
let s3Url: string;
let hub: HubHandle;
let agent: RunningProcess;
let keyId: string;
let identityFile: string;

before(async () => {
  dir = await tempDir('e2e-backup');
  identityFile = join(dir.path, 'identity.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  const publicKey = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();

  const site = join(dir.path, 'site');
  await mkdir(join(site, 'uploads', 'empty'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<h1>hello</h1>\n');
  await writeFile(join(site, 'uploads', 'café ☕.txt'), 'x'.repeat(100_000));

  fauxqs = await startFauxqs(dir.path, [BUCKET]);
  s3Url = fauxqs.url;
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData, env: { AWS_ACCESS_KEY_ID: 'AKIDE2E', AWS_SECRET_ACCESS_KEY: 'e2e-secret' }, args: ['--s3-bucket', BUCKET, '--s3-endpoint', s3Url] });
  // restore is granted so that the host's own policy (restore off) is what refuses it.
  const key = await hub.createKey('backup-host', ['ping', 'backup', 'backup_read', 'restore']);
  keyId = key.id;
  const state = join(dir.path, 'state');
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    ['allow: [ping, backup, backup_read]', 'backup:', `  recipients: ["${publicKey}"]`, '  targets:', '    site:', '      kind: files', `      roots: ["${site}"]`, ''].join('\n'),
    { mode: 0o600 },
  );
  agent = startAgent(agentEnv(hub, key.key, state, { TETHER_CONFIG: config }));
  await waitForAgent(hub, keyId);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  fauxqs?.stop();
  await dir?.remove();
});

function listTar(encrypted: Buffer): string[] {
  const plain = execFileSync('age', ['-d', '-i', identityFile], { input: encrypted, maxBuffer: 64 << 20 });
  const tar = execFileSync('zstd', ['-d', '-c'], { input: plain, maxBuffer: 64 << 20 });
  return execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).trim().split('\n');
}

test('backup to the hub: streamed, the hub stores the artifact, sha256 matches, age + zstd + tar read it back', async () => {
  const made = await command(hub, keyId, 'backup', { target: 'site', destination: 'hub' }, 120);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const artifact = made.body.result.data;
  assert.equal(artifact.encrypted, true);
  assert.match(artifact.location, /^hub:/);
  const stored = await readFile(join(hub.dataDir, 'artifacts', keyId, artifact.id));
  assert.equal(createHash('sha256').update(stored).digest('hex'), artifact.sha256);
  const names = listTar(stored);
  assert.ok(
    names.some((name) => name.endsWith('index.html')),
    names.join(', '),
  );
  assert.ok(
    names.some((name) => name.endsWith('café ☕.txt')),
    'unicode names kept',
  );
  assert.ok(
    names.some((name) => name.endsWith('uploads/empty/')),
    'empty directories kept',
  );

  const listed = await command(hub, keyId, 'backup_list', { target: 'site' });
  assert.ok(listed.body.result.data.artifacts.some((item: any) => item.id === artifact.id));
  // Streamed to the hub as it was made: no copy on the host (a verify there says where it is).
  assert.equal(listed.body.result.data.artifacts.find((item: any) => item.id === artifact.id).stored_locally, false);
  const verified = await command(hub, keyId, 'backup_verify', { id: artifact.id }, 60);
  assert.equal(verified.body.result.success, false);
  assert.match(verified.body.result.error, /is not on this host: it is stored at hub:/);
});

test('backup to S3 through URLs the hub presigns: the object in the bucket is the artifact', async () => {
  const made = await command(hub, keyId, 'backup', { target: 'site', destination: 's3' }, 120);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const artifact = made.body.result.data;
  assert.match(artifact.location, new RegExp(`^s3:${BUCKET}/`));
  const objectKey = artifact.location.slice(`s3:${BUCKET}/`.length);
  const object = Buffer.from(await (await fetch(`${s3Url}/${BUCKET}/${objectKey}`)).arrayBuffer());
  assert.equal(createHash('sha256').update(object).digest('hex'), artifact.sha256);
  assert.ok(listTar(object).some((name) => name.endsWith('index.html')));
});

test('refusals: unknown target, a restore this host does not allow, a path in place of a target', async () => {
  const unknown = await command(hub, keyId, 'backup', { target: 'nope' });
  assert.equal(unknown.body.result.error_code, 'invalid_params');
  const injected = await command(hub, keyId, 'backup', { target: '../etc' });
  assert.equal(injected.body.result.error_code, 'invalid_params');
  const restore = await command(hub, keyId, 'restore', { id: 'site-20260101T000000Z-abcdef12', target: 'site' });
  assert.equal(restore.body.result.error_code, 'permission_denied');
});
