// The CLI: version, health-check, dump-state, bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until, TEST_API_KEY } from './helpers/agent-process.ts';

test('version --json prints version, node, platform and arch', async (t) => {
  const stateDir = join(await makeTempDir(t), 'state');
  const run = await startAgent(t, { serverUrl: 'ws://127.0.0.1:9', stateDir, args: ['version', '--json'] });
  assert.equal((await run.exited).code, 0);
  const info = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(info).sort(), ['arch', 'node', 'platform', 'version']);
  assert.equal(info.node, process.version);
});

test('bad arguments exit 2 with a clear message', async (t) => {
  const stateDir = join(await makeTempDir(t), 'state');
  const run = await startAgent(t, { serverUrl: 'ws://127.0.0.1:9', stateDir, args: ['frobnicate'] });
  assert.equal((await run.exited).code, 2);
  assert.match(run.stderr, /unknown command 'frobnicate'/);
});

test('health-check follows the running agent; dump-state masks the key unless asked', async (t) => {
  const hub = await new FakeHub().start();
  t.after(() => hub.close());
  const stateDir = join(await makeTempDir(t), 'state');

  const before = await startAgent(t, { serverUrl: hub.url, stateDir, args: ['health-check'] });
  assert.equal((await before.exited).code, 1);
  assert.match(before.stdout, /^unhealthy: cannot read/);

  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  await until('heartbeat', () => hub.messages('heartbeat')[0]);
  await until('healthy', async () => {
    const check = await startAgent(t, { serverUrl: hub.url, stateDir, args: ['health-check'] });
    return (await check.exited).code === 0 && check.stdout === 'healthy\n';
  });

  const dump = await startAgent(t, { serverUrl: hub.url, stateDir, args: ['dump-state'] });
  assert.equal((await dump.exited).code, 0);
  assert.equal(dump.stdout.includes(TEST_API_KEY), false);
  const state = JSON.parse(dump.stdout);
  assert.equal(state.config.api_key, '[redacted]');
  assert.equal(state.agent.agent_id, hub.messages('register')[0]!.data.agent_id);
  assert.equal(state.health.connected, true);

  const secret = await startAgent(t, { serverUrl: hub.url, stateDir, args: ['dump-state', '--allow-secrets'] });
  assert.equal((await secret.exited).code, 0);
  assert.equal(JSON.parse(secret.stdout).config.api_key, TEST_API_KEY);

  agent.child.kill('SIGKILL');
  await agent.exited;
  const after = await startAgent(t, { serverUrl: hub.url, stateDir, args: ['health-check'] });
  assert.equal((await after.exited).code, 1);
  assert.match(after.stdout, /^unhealthy: agent process \d+ is not running\n$/);
});
