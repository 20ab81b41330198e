// S3 sink end to end: a real fauxqs S3 server (its own process), the hub's presign handler on a
// loopback port, the agent's multipart uploader with 5 MiB parts. The object is downloaded again,
// its sha256 compared, and it is decrypted with the real age CLI.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { handleS3Presign } from '../../../hub/src/artifacts/s3-presign-handler.ts';
import type { S3Settings } from '../../../hub/src/artifacts/s3-settings.ts';
import { choosePartSize, S3_MIN_PART_BYTES } from '../../src/backup/sinks/s3-multipart.ts';
import { harness, decryptWithCli } from './helpers.ts';
import { startFauxqs } from '../../../test/helpers/fauxqs.ts';
import type { Fauxqs } from '../../../test/helpers/fauxqs.ts';
import type { Harness } from './helpers.ts';

const BUCKET = 'tether-test';
const AGENT_KEY = 'tk_s3_test_key_0123456789';
let fauxqs: Fauxqs;
let s3Url = '';
let hub: Server;
let hubUrl = '';
let s3Settings: S3Settings | null = null;
let h: Harness;
const presigned: string[] = [];

before(async () => {
  h = await harness('ws://127.0.0.1:1', AGENT_KEY);
  fauxqs = await startFauxqs(h.dir, [BUCKET]);
  s3Url = fauxqs.url;
  s3Settings = { endpoint: s3Url, bucket: BUCKET, region: 'us-east-1', prefix: 'tether', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } };
  const log = createLogger({ name: 'hub-test', secrets: () => [], destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  // The hub's part of the route: agent key check, then the presign handler.
  hub = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${AGENT_KEY}`) {
      res.writeHead(401).end();
      return;
    }
    presigned.push(req.url ?? '');
    void handleS3Presign(req, res, { s3: s3Settings, keyId: 'key1', log });
  });
  await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
  hubUrl = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}/ws/agent`;
});

after(async () => {
  hub?.close();
  fauxqs?.stop();
  await h?.cleanup();
});

test('part size: at least the minimum, whole MiB, and any size fits in 10,000 parts', () => {
  assert.equal(choosePartSize(1), S3_MIN_PART_BYTES);
  assert.equal(choosePartSize(50 * 2 ** 30), 6 * 2 ** 20);
  for (const size of [5e12, 4.4e12, 123_456_789_012]) {
    const part = choosePartSize(size);
    assert.ok(Math.ceil(size / part) <= 10_000, `${size} bytes in parts of ${part}`);
    assert.equal(part % (1 << 20), 0);
  }
});

test('backup to S3: multipart upload of presigned parts, object sha256 matches, age CLI decrypts it', async () => {
  const plain = randomBytes(12 * 1024 * 1024 + 12345); // incompressible: 3 parts of 5 MiB
  const sourceFile = join(h.dir, 'source.bin');
  await writeFile(sourceFile, plain);
  const commands = h.commands({
    recipients: [h.recipient],
    dir: join(h.dir, 'store'),
    s3_part_min_bytes: S3_MIN_PART_BYTES,
    targets: { blob: { kind: 'command', argv: ['cat', sourceFile], extension: 'bin' } },
  });
  const context = h.context({ config: { ...h.context().config, server_url: hubUrl } });
  const result = await h.call(commands, 'backup', { target: 'blob', destination: 's3' }, context);
  const key = `tether/key1/${String(result.id)}`;
  assert.equal(result.location, `s3:${BUCKET}/${key}`);
  const parts = presigned.filter((url) => url.endsWith('/s3'));
  assert.ok(parts.length >= 5, `create + 3 parts + complete presigned, saw ${parts.length}`);

  const response = await fetch(`${s3Url}/${BUCKET}/${key}`);
  assert.equal(response.status, 200);
  const object = Buffer.from(await response.arrayBuffer());
  assert.equal(object.length, result.size);
  assert.equal(createHash('sha256').update(object).digest('hex'), result.sha256);
  const downloaded = join(h.dir, 'downloaded.age');
  await writeFile(downloaded, object);
  await decryptWithCli(downloaded, h.identityFile, join(h.dir, 'decrypted'));
  assert.ok((await readFile(join(h.dir, 'decrypted'))).equals(plain));

  const listed = await h.call(commands, 'backup_list', { target: 'blob' });
  const artifacts = listed.artifacts as Array<{ uploads: Array<{ destination: string; location: string }> }>;
  assert.deepEqual(
    artifacts[0]!.uploads.map((upload) => [upload.destination, upload.location]),
    [['s3', `s3:${BUCKET}/${key}`]],
  );
});

test('backup_download to S3 of an existing artifact; a hub without S3 makes it fail with the reason', async () => {
  const commands = h.commands({ recipients: [h.recipient], dir: join(h.dir, 'store2'), targets: { small: { kind: 'command', argv: ['echo', 'hello'] } } });
  const context = h.context({ config: { ...h.context().config, server_url: hubUrl } });
  const made = await h.call(commands, 'backup', { target: 'small' }, context);
  const uploaded = await h.call(commands, 'backup_download', { id: made.id, destination: 's3' }, context);
  const object = Buffer.from(await (await fetch(`${s3Url}/${BUCKET}/tether/key1/${String(made.id)}`)).arrayBuffer());
  assert.equal(createHash('sha256').update(object).digest('hex'), uploaded.sha256);

  const saved = s3Settings;
  s3Settings = null;
  try {
    await assert.rejects(h.call(commands, 'backup_download', { id: made.id, destination: 's3' }, context), /no S3 sink/);
  } finally {
    s3Settings = saved;
  }
});
