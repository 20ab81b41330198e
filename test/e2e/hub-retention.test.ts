// Retention of the artifacts the hub stores (issue 12): a real agent whose target says
// `retention: {keep: 2, max_age_days: 30}` backs up to a real hub four times; the hub keeps the
// newest two and the newest one whose restore test passed, removes the rest (bytes and side files),
// and records each removal in the audit log. An hourly sweep 40 days later drops what is past the
// age limit, but never the newest artifact nor the newest verified one (nor, with
// --artifact-min-keep N, the newest N).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@tether/shared/logger.ts';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { SqliteStore } from '../../hub/src/store/sqlite/sqlite-store.ts';
import { enforceAllRetention } from '../../hub/src/artifacts/hub-retention.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let key: { id: string; key: string };

before(async () => {
  dir = await tempDir('hub-retention');
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  key = await hub.createKey('kept', ['ping', 'backup', 'backup_read']);
  const root = join(dir.path, 'site');
  await mkdir(root);
  await writeFile(join(root, 'index.html'), '<h1>kept a while</h1>\n');
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    [
      'allow: [ping, backup, backup_read]',
      'backup:',
      '  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]',
      '  targets:',
      `    site: { kind: files, roots: [${JSON.stringify(root)}], retention: { keep: 2, max_age_days: 30 } }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  agent = startAgent(agentEnv(hub, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config }));
  await waitForAgent(hub, key.id);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await dir?.remove();
});

async function backUp(): Promise<string> {
  await sleep(1100); // ids carry whole seconds: one backup a second keeps their order plain
  const made = await command(hub, key.id, 'backup', { target: 'site', destination: 'hub' }, 60);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  return made.body.result.data.id as string;
}

async function stored(): Promise<string[]> {
  const { body } = await hub.api('GET', `/api/artifacts?key_id=${key.id}&target=site`);
  return body.artifacts.map((artifact: { id: string }) => artifact.id);
}

test('the hub keeps the newest N and the newest verified artifact of a target, removes the rest, audit-logged', async () => {
  const first = await backUp();
  // The first artifact passes a restore test (reported through the owner's own route, as a backup
  // host with the identity does).
  const verified = await fetch(`${hub.url}/api/agents/artifacts/${first}/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ok: true, at: new Date().toISOString(), duration_ms: 10, checked: ['sha256', 'every file extracted matches'], problems: [] }),
  });
  assert.equal(verified.status, 200, await verified.text());
  const second = await backUp();
  const third = await backUp();
  assert.deepEqual(await stored(), [third, second, first], 'keep 2, and the verified one stays too');
  const fourth = await backUp();
  assert.deepEqual(await stored(), [fourth, third, first], 'the second went: beyond the newest 2 and not verified');

  const files = await readdir(join(hub.dataDir, 'artifacts', key.id));
  assert.ok(!files.some((name) => name.startsWith(second)), `nothing of ${second} is left: ${files.join(' ')}`);
  const { body } = await hub.api('GET', '/api/audit?action=artifact.expire');
  assert.equal(body.entries.length, 1);
  assert.equal(body.entries[0].actor, 'retention');
  assert.equal(body.entries[0].key_id, key.id);
  assert.equal(body.entries[0].detail.artifact_id, second);
  assert.match(body.entries[0].detail.reason, /beyond the newest 2/);
});

test('40 days on, the hourly sweep drops what is past max_age_days but keeps the newest and the newest verified', async () => {
  const before = await stored();
  assert.equal(before.length, 3);
  // The sweep the hub runs every hour, run here on the hub's own data at a later clock.
  const store = await SqliteStore.open({ path: join(hub.dataDir, 'hub.sqlite'), log: createLogger({ name: 'retention-test', level: 'silent' }) });
  try {
    const deps = { shelf: { dataDir: hub.dataDir, store }, store, log: createLogger({ name: 'retention-test', level: 'silent' }) };
    // A hub started with --artifact-min-keep 3 keeps all three, whatever the host's retention says.
    assert.equal(await enforceAllRetention({ ...deps, minKeep: 3 }, Date.now() + 40 * 86_400_000), 0);
    assert.equal(await enforceAllRetention({ ...deps, minKeep: 1 }, Date.now() + 40 * 86_400_000), 1);
  } finally {
    await store.close();
  }
  assert.deepEqual(await stored(), [before[0], before[2]], 'the newest and the verified first one stay');
  const { body } = await hub.api('GET', '/api/audit?action=artifact.expire');
  assert.match(body.entries[0].detail.reason, /older than 30 days/);
  assert.equal(body.entries[0].detail.artifact_id, before[1]);
});
