import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { presignS3Url, uriEncode } from '../../src/artifacts/s3-presign.ts';
import { handleS3Presign } from '../../src/artifacts/s3-presign-handler.ts';
import { loadS3Settings } from '../../src/artifacts/s3-settings.ts';
import type { S3Settings } from '../../src/artifacts/s3-settings.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'tether-hub-s3-'));
const s3: S3Settings = { endpoint: 'http://127.0.0.1:9', bucket: 'backups', region: 'eu-west-1', prefix: 'tether', credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET-never-sent' } };
const lines: string[] = [];
const log = createLogger({
  name: 'hub-test',
  secrets: () => [s3.credentials.secretAccessKey],
  destination: new Writable({
    write: (chunk, _e, cb) => {
      lines.push(String(chunk));
      cb();
    },
  }),
});
let settings: S3Settings | null = s3;
const server = createServer((req, res) => void handleS3Presign(req, res, { s3: settings, keyId: 'key7', log }));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const id = 'site-20261122T040000Z-1a2b3c4d';
after(async () => {
  server.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('SigV4 presign matches the AWS documentation example (GET examplebucket/test.txt)', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
  const url = presignS3Url({
    method: 'GET',
    endpoint: 'https://s3.amazonaws.com',
    addressing: 'virtual',
    bucket: 'examplebucket',
    key: 'test.txt',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    expiresS: 86400,
    now: new Date('2013-05-24T00:00:00Z'),
  });
  const parsed = new URL(url);
  assert.equal(parsed.host, 'examplebucket.s3.amazonaws.com');
  assert.equal(parsed.searchParams.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  assert.equal(parsed.searchParams.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
});

test('URI encoding follows SigV4: unreserved kept, space %20, slash kept only in keys', () => {
  assert.equal(uriEncode('a b/c~d*'), 'a%20b%2Fc~d%2A');
  assert.equal(uriEncode('a b/c', true), 'a%20b/c');
  assert.equal(uriEncode('é'), '%C3%A9');
});

const post = (body: unknown, artifact = id) => fetch(`${base}/api/agents/artifacts/${artifact}/s3`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });

test("presign endpoint: each action gives the right method and query on the key's own object", async () => {
  const expectations: Array<[unknown, string, string[]]> = [
    [{ action: 'create', sha256: 'a'.repeat(64) }, 'POST', ['uploads']],
    [{ action: 'part', upload_id: 'up/1+x=', part_number: 3 }, 'PUT', ['partNumber', 'uploadId']],
    [{ action: 'complete', upload_id: 'up1' }, 'POST', ['uploadId']],
    [{ action: 'abort', upload_id: 'up1' }, 'DELETE', ['uploadId']],
  ];
  for (const [body, method, params] of expectations) {
    const response = await post(body);
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { url: string; method: string; headers: Record<string, string>; location: string };
    assert.equal(answer.method, method);
    const url = new URL(answer.url);
    assert.equal(url.pathname, `/backups/tether/key7/${id}`);
    for (const name of params) assert.ok(url.searchParams.has(name), `${name} in ${answer.url}`);
    assert.ok(url.searchParams.get('X-Amz-Signature')?.match(/^[a-f0-9]{64}$/));
    assert.equal(answer.location, `s3:backups/tether/key7/${id}`);
    assert.ok(!answer.url.includes('SECRET'), 'the secret never leaves the hub');
  }
  const create = (await (await post({ action: 'create', sha256: 'b'.repeat(64) })).json()) as { url: string; headers: Record<string, string> };
  assert.deepEqual(create.headers, { 'x-amz-meta-tether-sha256': 'b'.repeat(64) });
  assert.equal(new URL(create.url).searchParams.get('X-Amz-SignedHeaders'), 'host;x-amz-meta-tether-sha256');
  assert.ok(!lines.join('').includes('SECRET-never-sent'));
});

test('presign endpoint refuses bad input with the reason, and answers 501 without S3', async () => {
  const bad: Array<[unknown, string?]> = [
    [{ action: 'delete-everything' }],
    [{ action: 'part', upload_id: 'u', part_number: 10_001 }],
    [{ action: 'part', upload_id: 'u', part_number: 0 }],
    [{ action: 'complete' }],
    [{ action: 'abort', upload_id: 'bad id with spaces' }],
    ['not json'],
    [{ action: 'create' }, '..%2F..%2Fetc'],
  ];
  for (const [body, artifact] of bad) {
    const response = await post(body, artifact);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match(((await response.json()) as { error: string }).error, /\w/);
  }
  assert.equal((await fetch(`${base}/api/agents/artifacts/${id}/s3`)).status, 405);
  settings = null;
  try {
    const response = await post({ action: 'create' });
    assert.equal(response.status, 501);
    assert.match(((await response.json()) as { error: string }).error, /--s3-bucket/);
  } finally {
    settings = s3;
  }
});

test('S3 settings: off without a bucket; env credentials first; s3.json must be 0600 and complete', async () => {
  assert.equal(await loadS3Settings({}, dataDir, {}), null);
  const fromEnv = await loadS3Settings({ s3Bucket: 'my-bucket', s3Region: 'eu-central-1' }, dataDir, { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' });
  assert.equal(fromEnv?.endpoint, 'https://s3.eu-central-1.amazonaws.com');
  assert.deepEqual(fromEnv?.credentials, { accessKeyId: 'A', secretAccessKey: 'B', sessionToken: undefined });
  await assert.rejects(loadS3Settings({ s3Bucket: 'my-bucket' }, dataDir, {}), /no credentials.*s3\.json/);
  await assert.rejects(loadS3Settings({ s3Bucket: 'Bad_Bucket' }, dataDir, {}), /--s3-bucket/);
  await assert.rejects(loadS3Settings({ s3Bucket: 'my-bucket', s3Endpoint: 'ftp://x' }, dataDir, {}), /--s3-endpoint/);
  const file = join(dataDir, 's3.json');
  await writeFile(file, JSON.stringify({ access_key_id: 'FILEKEY', secret_access_key: 'FILESECRET' }), { mode: 0o644 });
  await chmod(file, 0o644);
  await assert.rejects(loadS3Settings({ s3Bucket: 'my-bucket' }, dataDir, {}), /chmod 600/);
  await chmod(file, 0o600);
  const fromFile = await loadS3Settings({ s3Bucket: 'my-bucket', s3Endpoint: 'http://127.0.0.1:4566' }, dataDir, {});
  assert.equal(fromFile?.credentials.accessKeyId, 'FILEKEY');
  assert.equal(fromFile?.endpoint, 'http://127.0.0.1:4566');
  await writeFile(file, JSON.stringify({ access_key_id: 'FILEKEY' }));
  await assert.rejects(loadS3Settings({ s3Bucket: 'my-bucket' }, dataDir, {}), /secret_access_key/);
});
