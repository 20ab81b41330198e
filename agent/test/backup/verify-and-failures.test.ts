import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
// Test-only: the real hub upload handler receives what the agent uploads.
import { commitStreamedArtifact, handleArtifactUpload } from '../../../hub/src/artifacts/upload-handler.ts';
import { harness, run, artifactPathOf } from './helpers.ts';
import { uploadToHub } from '../../src/backup/sinks/hub-upload.ts';

const h = await harness();
after(() => h.cleanup());

async function siteCommands(extra: Record<string, unknown> = {}) {
  const root = join(h.dir, 'site');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'a.txt'), 'x'.repeat(200_000));
  return h.commands({ recipients: [h.recipient], targets: { site: { kind: 'files', roots: [root] } }, ...extra });
}

test('backup_verify: ok for a good artifact, fails for a truncated or tampered one (with and without identity)', async () => {
  for (const withIdentity of [false, true]) {
    const commands = await siteCommands(withIdentity ? { identity_file: h.identityFile } : {});
    const good = await h.call(commands, 'backup', { target: 'site' });
    const report = await h.call(commands, 'backup_verify', { id: good.id });
    assert.equal(report.ok, true);
    assert.equal(report.sha256, good.sha256);
    assert.equal(report.depth, withIdentity ? 'decrypted' : 'structure');

    const tampered = await h.call(commands, 'backup', { target: 'site' });
    const handle = await open(artifactPathOf(tampered), 'r+');
    await handle.write(Buffer.from([0xff]), 0, 1, 1000);
    await handle.close();
    const bad = await h.call(commands, 'backup_verify', { id: tampered.id });
    assert.equal(bad.ok, false);
    assert.match(String(bad.problems), /sha256/);

    const cut = await h.call(commands, 'backup', { target: 'site' });
    await truncate(artifactPathOf(cut), Number(cut.size) - 10);
    const short = await h.call(commands, 'backup_verify', { id: cut.id });
    assert.equal(short.ok, false);
    assert.match(String(short.problems), /truncated|size/);
  }
});

test('backup_prune keeps the newest N; restore is refused unless enabled', async () => {
  const commands = await siteCommands({ retention: { keep: 100 } });
  const before = (await h.call(commands, 'backup_list', { target: 'site' })).artifacts as Array<{ id: string }>;
  assert.ok(before.length >= 2);
  const pruned = await h.call(commands, 'backup_prune', { target: 'site', keep: 1 });
  assert.equal((pruned.removed as string[]).length, before.length - 1);
  const remaining = (await h.call(commands, 'backup_list', { target: 'site' })).artifacts as Array<{ id: string }>;
  assert.deepEqual(
    remaining.map((item) => item.id),
    [before[0]!.id],
  );
  await assert.rejects(h.call(commands, 'restore', { id: before[0]!.id, target: 'site' }), (error: Error & { code?: string }) => error.code === 'permission_denied');
});

test('a failing command source fails the backup with its message and publishes nothing', async () => {
  const commands = h.commands({
    targets: { broken: { kind: 'command', argv: [process.execPath, '-e', 'process.stdout.write("partial"); process.stderr.write("boom: disk on fire"); process.exit(3)'] } },
  });
  await assert.rejects(h.call(commands, 'backup', { target: 'broken' }), /exit code 3.*boom: disk on fire/s);
  assert.deepEqual(await readdir(join(h.dir, 'state', 'backups', 'broken')), []);
});

test('disk full: the backup fails, the partial file is removed, older artifacts stay', async (t) => {
  const mountPoint = await mkdtemp(join(tmpdir(), 'tether-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
  } catch (error) {
    await rm(mountPoint, { recursive: true, force: true });
    const line = `SKIP: cannot mount a small tmpfs (${(error as Error).message.split('\n')[0]}); run the tests as root with mount allowed`;
    if (process.env.TETHER_REQUIRE_SERVICES === '1') throw new Error(line);
    console.error(`\n!!! ${line}\n`);
    return t.skip('no tmpfs');
  }
  t.after(async () => {
    await run('umount', [mountPoint]).catch(() => {});
    await rm(mountPoint, { recursive: true, force: true });
  });
  const root = join(h.dir, 'small');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'small.txt'), 'small');
  const big = join(h.dir, 'big');
  await mkdir(big, { recursive: true });
  await writeFile(join(big, 'random.bin'), (await import('node:crypto')).randomBytes(3_000_000));
  const commands = h.commands({
    dir: mountPoint,
    compression: { algorithm: 'none' },
    targets: { small: { kind: 'files', roots: [root] }, big: { kind: 'files', roots: [big], dir: join(mountPoint, 'small') } },
  });
  const kept = await h.call(commands, 'backup', { target: 'small' });
  await assert.rejects(h.call(commands, 'backup', { target: 'big' }), /no space left/);
  const files = await readdir(join(mountPoint, 'small'));
  assert.deepEqual(files.sort(), [`${kept.id}.json`, `${kept.id}.tar`].sort());
});

test('hub destination: streamed to and committed by the hub handlers; a wrong sha256 is refused', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tether-hub-data-'));
  const log = createLogger({ name: 'hub', secrets: () => [], destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  // The hub's own handlers: health (the reachability probe), streamed and plain uploads, commits.
  const server = createServer((req, res) => {
    const commit = /^\/api\/agents\/artifacts\/([^/]+)\/commit$/.exec(req.url ?? '');
    if (req.url === '/api/health') return void res.end('{"ok":true}');
    if (!commit) return void handleArtifactUpload(req, res, { dataDir, keyId: 'k1', log, maxBytes: 10_000_000 });
    let body = '';
    req
      .on('data', (chunk) => (body += chunk))
      .on('end', async () => {
        const answer = await commitStreamedArtifact(dataDir, 'k1', commit[1]!, JSON.parse(body).sha256, log);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const hubUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/agent`;
  const hh = await harness(hubUrl);
  after(() => hh.cleanup());
  const root = join(hh.dir, 'site');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'a.txt'), 'hello hub');
  const commands = hh.commands({ recipients: [hh.recipient], targets: { site: { kind: 'files', roots: [root] } } });
  const result = await hh.call(commands, 'backup', { target: 'site', destination: 'hub' });
  assert.equal(result.location, `hub:artifacts/k1/${result.id}`);
  const stored = await readFile(join(dataDir, 'artifacts', 'k1', String(result.id)));
  assert.equal(stored.length, result.size);
  const list = (await hh.call(commands, 'backup_list', {})).artifacts as Array<{ uploads: unknown[]; stored_locally: boolean }>;
  assert.equal(list[0]!.uploads.length, 1);
  assert.equal(list[0]!.stored_locally, false);

  const local = await hh.call(commands, 'backup', { target: 'site' });
  const manifest = JSON.parse(await readFile(artifactPathOf(local).replace(/\.tar\.zst\.age$/, '.json'), 'utf8'));
  await assert.rejects(uploadToHub(artifactPathOf(local), { ...manifest, sha256: 'b'.repeat(64) }, { serverUrl: hubUrl, apiKey: 'tk_test_key_0123456789' }, new AbortController().signal), /HTTP 422/);
  assert.deepEqual(
    (await readdir(join(dataDir, 'artifacts', 'k1'))).filter((name) => name.startsWith(String(local.id))),
    [],
  );
  const downloaded = await hh.call(commands, 'backup_download', { id: local.id });
  assert.equal(downloaded.location, `hub:artifacts/k1/${local.id}`);
});
