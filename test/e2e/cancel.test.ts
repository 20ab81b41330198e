// POST /api/commands/{id}/cancel on real processes: a running exec job on an agent that polls over
// HTTP gets the signed cancel with its next poll answer and is killed; a command still queued on
// the hub is answered `cancelled` and never reaches the agent; finished and unknown commands are
// refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { isAlive, waitFor } from '../helpers/process.ts';
import { HUB_CLI, agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';

const TICKER = join(import.meta.dirname, '..', 'console', 'fixtures', 'ticker.mjs');

test('cancel: an HTTP-polling agent stops a running job; a queued command is cancelled on the hub', async (t) => {
  const dir = await tempDir('cancel');
  t.after(() => dir.remove());
  const hub = await startHub({ dataDir: join(dir.path, 'hub') });
  t.after(() => hub.stop());
  const key = await hub.createKey('poller', ['ping', 'exec']);
  const pidFile = join(dir.path, 'ticker.pid');
  const config = join(dir.path, 'agent.yaml');
  await writeFile(config, `allow: [ping, exec]\nactions:\n  ticker:\n    argv: ${JSON.stringify([process.execPath, TICKER, pidFile])}\n`, { mode: 0o600 });

  // Queued while no agent is connected: cancelled on the hub, never sent.
  const queued = await command(hub, key.id, 'exec', { action: 'ticker' }, 0);
  assert.equal(queued.status, 202);
  const early = await hub.api('POST', `/api/commands/${queued.body.command_id}/cancel`, {});
  assert.equal(early.status, 200, JSON.stringify(early.body));
  assert.equal(early.body.cancel, 'cancelled_before_sending');
  assert.equal(early.body.result.error_code, 'cancelled');

  const agent = startAgent(agentEnv(hub, key.key, join(dir.path, 'agent'), { TETHER_FORCE_HTTP: '1', TETHER_CONFIG: config }));
  t.after(() => agent.stop('SIGKILL'));
  await waitForAgent(hub, key.id);
  assert.equal((await command(hub, key.id, 'ping')).body.result.success, true);
  assert.equal(await readFile(pidFile, 'utf8').catch(() => 'absent'), 'absent', 'the cancelled queued command never ran');

  const running = await command(hub, key.id, 'exec', { action: 'ticker' }, 0);
  const pid = Number(await waitFor(() => readFile(pidFile, 'utf8').catch(() => ''), 'the ticker to start'));
  assert.ok(isAlive(pid));
  // The operator's CLI: tether cancel, as documented.
  const { stdout } = await promisify(execFile)(process.execPath, [HUB_CLI, 'cancel', running.body.command_id, '--json', '--hub', hub.url], { env: { ...process.env, TETHER_ADMIN_TOKEN: hub.token } });
  const cancel = { body: JSON.parse(stdout) };
  assert.equal(cancel.body.cancel, 'cancel_sent');
  assert.equal(cancel.body.status, 'failed');
  assert.equal(cancel.body.result.error_code, 'cancelled');
  await waitFor(() => !isAlive(pid), 'the cancelled program to be gone');

  const again = await hub.api('POST', `/api/commands/${running.body.command_id}/cancel`, {});
  assert.equal(again.status, 409);
  assert.match(again.body.error, /already finished/);
  assert.equal((await hub.api('POST', '/api/commands/no-such-command/cancel', {})).status, 404);

  // Both cancels count as such in the hub's metrics.
  const metrics = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } }).then((response) => response.text());
  assert.match(metrics, /^tether_commands_total\{command="exec",outcome="cancelled"\} 2$/m);
});
