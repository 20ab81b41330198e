// A verify host (issue 13): a second real agent that holds the age identity and a scratch
// PostgreSQL fetches a backup host's artifacts, from the hub and from S3 (a real fauxqs server,
// through a GET the hub presigns), restores them into a throwaway database, compares the row
// counts and the check query, and stores the result with the artifact on the hub. The backup host
// itself holds only the recipient. A key without the verify_host grant cannot fetch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { startFauxqs } from '../helpers/fauxqs.ts';
import type { Fauxqs } from '../helpers/fauxqs.ts';

const run = promisify(execFile);
const BUCKET = 'tether-verify';
const DB = `tether_vh_${process.pid}_${Date.now()}`;
const psql = (database: string, sql: string) => run('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-c', sql]);

let dir: { path: string; remove(): Promise<void> };
let fauxqs: Fauxqs;
let hub: HubHandle;
const agents: RunningProcess[] = [];
let backupKey: { id: string; key: string };
let verifyKey: { id: string; key: string };
let pgReady = false;

before(async () => {
  dir = await tempDir('verify-host');
  try {
    await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432']);
    pgReady = true;
  } catch {
    if (process.env.TETHER_REQUIRE_SERVICES === '1') throw new Error('PostgreSQL at 127.0.0.1:5432 is required');
    console.error('\n!!! SKIP verify host test: PostgreSQL at 127.0.0.1:5432 is not reachable\n');
    return;
  }
  await psql('postgres', `create database ${DB}`);
  await psql(DB, "create table orders (id int primary key, item text); insert into orders select g, 'item ' || g from generate_series(1, 1234) g;");
  const identity = join(dir.path, 'identity.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();

  fauxqs = await startFauxqs(dir.path, [BUCKET]);
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData, env: { AWS_ACCESS_KEY_ID: 'AKIDVERIFY', AWS_SECRET_ACCESS_KEY: 'verify-secret' }, args: ['--s3-bucket', BUCKET, '--s3-endpoint', fauxqs.url] });
  backupKey = await hub.createKey('db-host', ['ping', 'backup', 'backup_read']);
  verifyKey = await hub.createKey('verify-host', ['ping', 'backup_read', 'verify_host']);

  const backupConfig = join(dir.path, 'backup-host.yaml');
  await writeFile(
    backupConfig,
    [
      'allow: [ping, backup, backup_read]',
      'backup:',
      `  recipients: [${JSON.stringify(recipient)}]`, // no identity here: this host cannot decrypt
      '  targets:',
      `    app: { kind: postgres, url: "postgres://postgres@127.0.0.1:5432", databases: [${DB}] }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const verifyConfig = join(dir.path, 'verify-host.yaml');
  await writeFile(
    verifyConfig,
    [
      'allow: [ping, backup_read]',
      'backup:',
      `  identity_file: ${JSON.stringify(identity)}`,
      '  scratch:',
      '    postgres: { url: "postgres://postgres@127.0.0.1:5432" }',
      `    dir: ${JSON.stringify(join(dir.path, 'scratch'))}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  await mkdir(join(dir.path, 'scratch'));
  agents.push(startAgent(agentEnv(hub, backupKey.key, join(dir.path, 'backup-state'), { TETHER_CONFIG: backupConfig })));
  agents.push(startAgent(agentEnv(hub, verifyKey.key, join(dir.path, 'verify-state'), { TETHER_CONFIG: verifyConfig })));
  await waitForAgent(hub, backupKey.id);
  await waitForAgent(hub, verifyKey.id);
});

after(async () => {
  for (const agent of agents) await agent.stop().catch(() => {});
  await hub?.stop();
  fauxqs?.stop();
  if (pgReady) await psql('postgres', `drop database if exists ${DB}`).catch(() => {});
  await dir?.remove();
});

async function ok(keyId: string, name: string, data: Record<string, unknown>): Promise<any> {
  const answer = await command(hub, keyId, name, data, 120);
  assert.equal(answer.body.result?.success, true, JSON.stringify(answer.body));
  return answer.body.result.data;
}

for (const from of ['hub', 's3'] as const) {
  test(`a verify host restore-tests an artifact fetched from ${from === 'hub' ? 'the hub' : 'S3 through a presigned GET'}`, async (t) => {
    if (!pgReady) return t.skip('no PostgreSQL');
    const made = await ok(backupKey.id, 'backup', { target: 'app', destination: from });
    // The backup host cannot test it: it has no identity (and a streamed artifact is not even there).
    const own = await command(hub, backupKey.id, 'backup_verify', { id: made.id, restore: true }, 60);
    if (from === 'hub') assert.match(own.body.result.error, /is not on this host/);
    else assert.match(own.body.result.data.problems[0], /no backup.identity_file/);

    const verified = await ok(verifyKey.id, 'backup_verify', { id: made.id, restore: true, key_id: backupKey.id, from, sql: 'select count(*) from orders' });
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(verified.checked[0], from === 'hub' ? 'fetched from the hub' : 'fetched from S3 (a GET the hub presigned)');
    assert.ok(verified.checked.includes('row counts of 1 table match the backup (1234 rows)'), JSON.stringify(verified.checked));
    assert.ok(verified.checked.includes('check query returned 1234: select count(*) from orders'));

    // Stored with the artifact on the hub; the scratch database and the download are gone.
    const stored = await fetch(`${hub.url}/api/artifacts/${backupKey.id}/${made.id}/restore-test`, { headers: { authorization: `Bearer ${hub.token}` } }).then((r) => r.json() as Promise<any>);
    assert.equal(stored.ok, true, JSON.stringify(stored));
    assert.deepEqual(stored.checked, verified.checked);
    assert.equal(stored.verify_key_id, verifyKey.id);
    const left = (await psql('postgres', "select count(*) from pg_database where datname like 'tether_verify_%'")).stdout.trim();
    assert.equal(left, '0');
  });
}

test("a key without the verify_host grant cannot fetch another key's artifact", async (t) => {
  if (!pgReady) return t.skip('no PostgreSQL');
  const made = await ok(backupKey.id, 'backup', { target: 'app', destination: 'hub' });
  for (const path of [`/api/agents/verify/artifacts/${verifyKey.id}/${made.id}`, `/api/agents/verify/artifacts/${backupKey.id}/${made.id}/manifest`]) {
    const response = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${backupKey.key}` } });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /not a verify host/);
  }
});
