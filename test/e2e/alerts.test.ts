// Alerts end to end (issue 12): a real hub with a webhook, a real local HTTP receiver that checks
// every notice's HMAC-SHA256 signature, a real agent. A host offline longer than the threshold
// (2 s here) gives one alert, and one recovery notice when it reconnects; a stale backup target
// and a halted rollout give one alert each, and a recovery once they clear; nothing is sent twice
// (a retry after the receiver's 500 carries the same delivery id); the secret is in no log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HUB_CLI, agentEnv, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import { startProcess, waitFor } from '../helpers/process.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { notices, startAlertReceiver } from '../helpers/alert-receiver.ts';

const SECRET = 'alert-secret-0123456789abcdef-do-not-log';

/** A release on the hub's disk as `tether hub publish` leaves it: what a rollout checks before it starts. */
async function fakePublished(dataDir: string, version: string): Promise<void> {
  const platform = `${process.platform}-${process.arch}`;
  const dir = join(dataDir, 'releases', version);
  await mkdir(dir, { recursive: true });
  const base = join(dir, `tether-agent-${version}-${platform}`);
  await writeFile(`${base}.tar.gz`, 'not a real tarball: this host never gets to download it');
  await writeFile(`${base}.json`, JSON.stringify({ version, platform, arch: process.arch, sha256: '0'.repeat(64), size: 10 }));
  await writeFile(`${base}.json.sig`, 'AAAA');
}

test('alerts: host offline past the threshold, stale backup, halted rollout; one alert each, recovery when cleared, signed', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir('alerts');
  t.after(() => dir.remove());
  const receiver = await startAlertReceiver(SECRET, { failFirst: true });
  t.after(() => receiver.close());
  const hubData = join(dir.path, 'hub');
  const hub = await startHub({
    dataDir: hubData,
    args: ['--alert-webhook', receiver.url, '--alert-offline-after-s', '2', '--alert-check-s', '0.3'],
    env: { TETHER_ALERT_WEBHOOK_SECRET: SECRET },
  });
  t.after(() => hub.stop());

  // A real agent that goes away and comes back.
  const key = await hub.createKey('web-01', ['ping', 'info']);
  const stateDir = join(dir.path, 'agent');
  const env = agentEnv(hub, key.key, stateDir);
  let agent = startAgent(env);
  t.after(() => agent.stop('SIGKILL'));
  const registered = await waitForAgent(hub, key.id);
  const offlineIncident = `host_offline:${registered.agent_id}`;
  await agent.stop('SIGKILL');
  const alerted = await waitFor(() => notices(receiver.received, offlineIncident, 'alert')[0], 'the host offline alert', 30_000);
  assert.equal(alerted.kind, 'host_offline');
  assert.match(alerted.summary, /has not been connected for \d+ s, more than 2 s/);
  // The receiver refused the first delivery: the same notice came again, and that is all.
  await waitFor(() => receiver.received.filter((notice) => notice.delivery_id === alerted.delivery_id).length === 2 || null, 'the retry of the refused delivery', 30_000);
  agent = startAgent(env);
  await waitForAgent(hub, key.id);
  const recovered = await waitFor(() => notices(receiver.received, offlineIncident, 'recovery')[0], 'the recovery notice once it reconnected', 30_000);
  assert.equal(recovered.sequence, alerted.sequence);

  // A raw protocol client reports a backup target far past its alert_after_h; it stays connected.
  const reporter = await hub.createKey('db-01', ['ping']);
  const socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${reporter.key}` });
  t.after(() => socket.close());
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', protocol: 1, data: { agent_id: 'agent-db-01', hostname: 'db-01', version: '1.0.0', os: 'Linux', capabilities: ['ping'] } });
  await socket.next('registered');
  const heartbeat = (backups: Record<string, unknown>) => socket.send({ type: 'heartbeat', status: { uptime: 'running', timestamp: new Date().toISOString() }, backups });
  heartbeat({ app: { alert_after_h: 1, last_success_at: new Date(Date.now() - 3 * 3_600_000).toISOString(), last_artifact_id: 'old' } });
  const staleIncident = `backup_stale:${reporter.id}/agent-db-01/app`;
  const stale = await waitFor(() => notices(receiver.received, staleIncident, 'alert')[0], 'the stale backup alert', 30_000);
  assert.match(stale.summary, /backup target app on db-01 is stale: newest backup is 3 h old/);
  heartbeat({ app: { alert_after_h: 1, last_success_at: new Date().toISOString(), last_artifact_id: 'new' } });
  await waitFor(() => notices(receiver.received, staleIncident, 'recovery')[0], 'the stale backup recovery', 30_000);

  // A rollout to a key not granted `update` fails its host and halts; aborting it clears the alert.
  await fakePublished(hubData, '9.0.0');
  const started = await hub.api('POST', '/api/rollouts', { version: '9.0.0', selector: { key_ids: [reporter.id] } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const rolloutIncident = `rollout_halted:${started.body.rollout_id}`;
  const halted = await waitFor(() => notices(receiver.received, rolloutIncident, 'alert')[0], 'the halted rollout alert', 30_000);
  assert.match(halted.summary, new RegExp(`halted: ${reporter.id} failed: the update was refused: permission_denied`));
  assert.equal((await hub.api('POST', `/api/rollouts/${started.body.rollout_id}/abort`)).status, 200);
  await waitFor(() => notices(receiver.received, rolloutIncident, 'recovery')[0], 'the halted rollout recovery', 30_000);

  // A few more checks go by: nothing is sent again.
  const count = receiver.received.length;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal(receiver.received.length, count, JSON.stringify(receiver.received.slice(count)));
  for (const incident of [offlineIncident, staleIncident, rolloutIncident]) {
    assert.equal(notices(receiver.received, incident, 'alert').length, 1, incident);
    assert.equal(notices(receiver.received, incident, 'recovery').length, 1, incident);
  }
  assert.ok(
    receiver.received.every((notice) => notice.signed),
    'every notice carries a valid signature',
  );

  const metrics = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } }).then((response) => response.text());
  assert.match(metrics, /tether_alerts_firing\{kind="host_offline"\} 0/);
  const listed = await hub.api('GET', '/api/alerts');
  assert.equal(listed.body.enabled, true);
  const offlineRow = listed.body.alerts.find((alert: Record<string, any>) => alert.incident_key === offlineIncident);
  assert.equal(offlineRow.state, 'resolved');
  assert.deepEqual({ ok: offlineRow.fire_delivery.ok, attempts: offlineRow.fire_delivery.attempts }, { ok: true, attempts: 2 });
  assert.equal(offlineRow.resolve_delivery.ok, true);
  assert.ok(!hub.process.lines.some((line) => line.includes(SECRET)), 'the secret is in no log line');
  assert.ok(!hub.process.lines.some((line) => line.includes('/hooks/tether')), 'the webhook path is in no log line');
});

test('alert settings are checked at start: a bad URL or a short secret stops the hub with what to fix', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir('alert-settings');
  t.after(() => dir.remove());
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const hub = startProcess([HUB_CLI, 'hub', '--port', '0', '--data-dir', join(dir.path, 'hub'), ...args], { env });
    const exit = await hub.exited;
    return { code: exit.code, output: hub.lines.join('\n') };
  };
  const badUrl = await run(['--alert-webhook', 'ftp://example.com/x']);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.output, /the alert webhook must be an http\(s\) URL/);
  const shortSecret = await run(['--alert-webhook', 'http://127.0.0.1:9/x'], { TETHER_ALERT_WEBHOOK_SECRET: 'short-secret' });
  assert.equal(shortSecret.code, 1);
  assert.match(shortSecret.output, /secret must be at least 16 characters/);
  assert.doesNotMatch(shortSecret.output, /short-secret/);
  const badNumber = await run(['--alert-webhook', 'http://127.0.0.1:9/x', '--alert-offline-after-s', 'soon']);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.output, /--alert-offline-after-s must be a positive number of seconds/);
});
