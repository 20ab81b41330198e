// The hub's distribution endpoints and CLI: release-key generate, publish (refusals), release
// keys, latest per platform, release files (no traversal), /install.sh with the hub's own URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HUB_CLI, buildTestRelease, makeReleaseKey, publish, releaseDirOf, startHub, tempDir } from './helpers.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { ReleaseArtifact } from '../../scripts/release.ts';
import { REPO_ROOT } from '../helpers/process.ts';

const run = promisify(execFile);
let temp: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let release: ReleaseArtifact;
let publicKey: string;
const platform = `${process.platform}-${process.arch}`;

before(async () => {
  temp = await tempDir('distribution');
  const key = await makeReleaseKey(join(temp.path, 'keys'));
  publicKey = key.publicKey;
  release = await buildTestRelease({ version: '1.0.0', key, outDir: join(temp.path, 'out'), work: temp.path, bad: 'exits-1' });
  const data = join(temp.path, 'hub');
  await mkdir(data, { recursive: true, mode: 0o700 });
  await writeFile(join(data, 'release-keys'), `${key.publicKey}\n`);
  hub = await startHub({ dataDir: data });
});
after(async () => {
  await hub?.stop();
  await temp?.remove();
});

/** GET with a chosen Host header (fetch does not allow setting it). */
function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(hub.url);
    const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('tether release-key generate: private key 0600 in a 0700 dir, never overwritten', async () => {
  const out = join(temp.path, 'generated');
  const { stdout } = await run(process.execPath, [HUB_CLI, 'release-key', 'generate', '--out', out]);
  assert.match(stdout, /public key \(pin this on hubs and agents\): [A-Za-z0-9+/]{43}=/);
  assert.equal((await stat(join(out, 'release-key.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(out)).mode & 0o777, 0o700);
  const again = await run(process.execPath, [HUB_CLI, 'release-key', 'generate', '--out', out]).then(
    () => null,
    (error: { code: number; stderr: string }) => error,
  );
  assert.ok(again, 'a second generate must fail');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; refusing to overwrite/);
});

test('before anything is published: keys listed, latest is a clear 404', async () => {
  const keys = await hub.api('GET', '/api/agents/release-keys');
  assert.deepEqual(keys.body, { keys: [publicKey] });
  const latest = await hub.api('GET', `/api/agents/releases/latest?platform=${platform}`);
  assert.equal(latest.status, 404);
  assert.match(latest.body.error, /no release is published.*tether hub publish/);
});

test('publish refuses a tampered release and one signed by an unknown key; publishes a good one', async () => {
  const good = await releaseDirOf(release, join(temp.path, 'good'));
  const tampered = await releaseDirOf(release, join(temp.path, 'tampered'));
  const tarball = join(tampered, `tether-agent-1.0.0-${platform}.tar.gz`);
  const bytes = await readFile(tarball);
  bytes[200] = bytes[200]! ^ 0xff;
  await writeFile(tarball, bytes);
  const refused = await publish(tampered, hub.dataDir);
  assert.equal(refused.code, 1);
  assert.match(refused.output, /refusing to publish .*sha256 mismatch/);

  const otherHub = join(temp.path, 'other-hub');
  await mkdir(otherHub, { recursive: true });
  const stranger = await makeReleaseKey(join(temp.path, 'stranger'));
  await writeFile(join(otherHub, 'release-keys'), `${stranger.publicKey}\n`);
  const unknown = await publish(good, otherHub);
  assert.equal(unknown.code, 1);
  assert.match(unknown.output, /unknown key/);

  const noKeys = await publish(good, join(temp.path, 'no-keys-hub'));
  assert.equal(noKeys.code, 1);
  assert.match(noKeys.output, /trusts no release keys/);

  const latestBefore = await hub.api('GET', `/api/agents/releases/latest?platform=${platform}`);
  assert.equal(latestBefore.status, 404, 'nothing was published by the refused attempts');

  const published = await publish(good, hub.dataDir);
  assert.equal(published.code, 0, published.output);
  assert.match(published.output, /published 1\.0\.0 for/);
});

test('latest and release files are served; other names and traversal are 404; bad platform is 400', async () => {
  const latest = await hub.api('GET', `/api/agents/releases/latest?platform=${platform}`);
  assert.equal(latest.status, 200);
  assert.deepEqual(latest.body, {
    ...release.manifest,
    tarball: `tether-agent-1.0.0-${platform}.tar.gz`,
    manifest: `tether-agent-1.0.0-${platform}.json`,
    signature: `tether-agent-1.0.0-${platform}.json.sig`,
  });
  const file = await fetch(`${hub.url}/api/agents/releases/1.0.0/${latest.body.tarball}`);
  assert.equal(file.status, 200);
  assert.equal(Number(file.headers.get('content-length')), release.manifest.size);
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), await readFile(release.tarballPath));
  const signature = await fetch(`${hub.url}/api/agents/releases/1.0.0/${latest.body.signature}`);
  assert.equal(await signature.text(), await readFile(release.signaturePath, 'utf8'));

  for (const path of [
    '/api/agents/releases/1.0.0/release-keys',
    '/api/agents/releases/1.0.0/..%2F..%2Frelease-keys',
    '/api/agents/releases/..%2F..%2Fadmin-token/x',
    `/api/agents/releases/1.0.1/tether-agent-1.0.0-${platform}.json`,
  ]) {
    const response = await fetch(`${hub.url}${path}`);
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
  const bad = await hub.api('GET', '/api/agents/releases/latest?platform=linux-x64;rm');
  assert.equal(bad.status, 400);
  const other = await hub.api('GET', '/api/agents/releases/latest?platform=linux-riscv64');
  assert.equal(other.status, 404);
});

test('GET /install.sh is deploy.sh with this hub URL as the default server', async () => {
  const script = await get('/install.sh', 'hub.example.com:8443');
  const deploy = await readFile(join(REPO_ROOT, 'deploy.sh'), 'utf8').catch(() => null);
  if (deploy === null) {
    assert.equal(script.status, 404);
    assert.match(script.body, /deploy\.sh not found/);
    return;
  }
  assert.equal(script.status, 200);
  assert.ok(script.body.includes("TETHER_DEFAULT_SERVER_URL='ws://hub.example.com:8443'"));
  assert.ok(!script.body.includes("TETHER_DEFAULT_SERVER_URL=''"));
  assert.equal(script.body, deploy.replace("TETHER_DEFAULT_SERVER_URL=''", "TETHER_DEFAULT_SERVER_URL='ws://hub.example.com:8443'"));
  const hostile = await get('/install.sh', "evil';rm -rf /;'");
  assert.equal(hostile.status, 400);
});

test('GET /api/agents/signing-key: the command-signing public key and its fingerprint, without auth', async () => {
  const answer = await get('/api/agents/signing-key', 'hub.example.com');
  assert.equal(answer.status, 200);
  const body = JSON.parse(answer.body) as { signing_key: string; fingerprint: string };
  assert.equal(body.signing_key, (await readFile(join(temp.path, 'hub', 'command-signing-key.pub'), 'utf8')).trim());
  const raw = Buffer.from(body.signing_key, 'base64');
  assert.equal(raw.length, 32);
  assert.equal(body.fingerprint, createHash('sha256').update(raw).digest('hex').slice(0, 16));
});
