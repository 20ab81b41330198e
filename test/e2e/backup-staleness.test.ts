// Staleness (issue 13): targets with alert_after_h are flagged at the hub when their newest backup
// is older, or when there is none; the agent's heartbeat carries each target's last success and
// last restore test, so GET /api/backups/status knows without listing artifacts. Real hub, real
// agent (restarted so that its first heartbeat after the backups carries the summary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/process.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let key: { id: string; key: string };
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await tempDir('staleness');
  const identity = join(dir.path, 'identity.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  key = await hub.createKey('stale-host', ['ping', 'backup', 'backup_read']);
  const root = join(dir.path, 'site');
  await mkdir(root);
  await writeFile(join(root, 'index.html'), 'hello');
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    [
      'allow: [ping, backup, backup_read]',
      'backup:',
      `  recipients: [${JSON.stringify(recipient)}]`,
      `  identity_file: ${JSON.stringify(identity)}`,
      '  targets:',
      `    fresh: { kind: files, roots: [${JSON.stringify(root)}], alert_after_h: 24 }`,
      `    old: { kind: files, roots: [${JSON.stringify(root)}], alert_after_h: 0.0001 }`, // 0.36 s
      `    never: { kind: files, roots: [${JSON.stringify(root)}], alert_after_h: 1 }`,
      `    untracked: { kind: files, roots: [${JSON.stringify(root)}] }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  env = agentEnv(hub, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config });
  agent = startAgent(env);
  await waitForAgent(hub, key.id);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await dir?.remove();
});

async function ok(name: string, data: Record<string, unknown>): Promise<any> {
  const answer = await command(hub, key.id, name, data, 60);
  assert.equal(answer.body.result?.success, true, JSON.stringify(answer.body));
  return answer.body.result.data;
}

test('a target older than its alert_after_h, and one never backed up, are flagged stale at the hub', async () => {
  const fresh = await ok('backup', { target: 'fresh' });
  await ok('backup', { target: 'old' });
  const verified = await ok('backup_verify', { id: fresh.id, restore: true });
  assert.equal(verified.ok, true, JSON.stringify(verified));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // "old" is now past its 0.36 s
  // The next heartbeat carries the summary: the first one after a (re)start comes at once.
  await agent.stop();
  agent = startAgent(env);
  const status = await waitFor(
    async () => {
      const { status: code, body } = await hub.api('GET', '/api/backups/status');
      assert.equal(code, 200);
      const old = body.targets.find((item: any) => item.target === 'old');
      return old?.last_success_at ? body : undefined;
    },
    'the status to show the backups',
    30_000,
  );
  const byTarget = Object.fromEntries(status.targets.map((item: any) => [item.target, item]));
  assert.equal(status.stale, 2);
  assert.equal(byTarget.old.stale, true);
  assert.match(byTarget.old.reason, /newest backup is .* h old, more than alert_after_h 0.0001/);
  assert.equal(byTarget.never.stale, true);
  assert.match(byTarget.never.reason, /no backup of never/);
  assert.equal(byTarget.fresh.stale, false);
  assert.equal(byTarget.fresh.last_artifact_id, fresh.id);
  assert.deepEqual(byTarget.fresh.last_verify, { ok: true, at: verified.at, id: fresh.id });
  assert.equal(byTarget.untracked.stale, false);
  assert.equal(byTarget.untracked.alert_after_h, null);
  assert.equal(byTarget.fresh.key_id, key.id);
  // Stale first.
  assert.deepEqual(
    status.targets
      .slice(0, 2)
      .map((item: any) => item.target)
      .sort(),
    ['never', 'old'],
  );

  const unauthenticated = await fetch(`${hub.url}/api/backups/status`);
  assert.equal(unauthenticated.status, 401);
});
