// Exit codes, config errors, crash recovery and the journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until } from './helpers/agent-process.ts';

const LONG_COMMAND_CHILD = fileURLToPath(new URL('./helpers/long-command-child.ts', import.meta.url));

async function hubAndDir(t: Parameters<typeof makeTempDir>[0], options: ConstructorParameters<typeof FakeHub>[0] = {}) {
  const hub = await new FakeHub(options).start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  return { hub, stateDir: join(dir, 'state') };
}

test('restart answers first, then exits 42', async (t) => {
  const { hub, stateDir } = await hubAndDir(t);
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir, configYaml: 'allow: [ping, restart]\n' });
  await agent.waitForLog('registered');
  hub.send({ type: 'command', command_id: 'rs-1', command: 'restart', data: {} });
  const exit = await agent.exited;
  assert.equal(exit.code, 42);
  const response = hub.responsesFor('rs-1')[0]!;
  assert.equal(response.success, true);
  const accepted = hub.messages('job_accepted').find((m) => m.command_id === 'rs-1')!;
  assert.equal(accepted.is_priority, false);
});

test('config errors exit 78 naming the field, before anything starts', async (t) => {
  const dir = await makeTempDir(t);
  const cases: Array<{ env?: Record<string, string>; yaml?: string; field: RegExp }> = [
    { env: { TETHER_SERVER_URL: 'ftp://hub.example.com' }, field: /server_url \(env TETHER_SERVER_URL\)/ },
    { env: { TETHER_API_KEY: 'short' }, field: /api_key/ },
    { yaml: 'queue:\n  workers: 0\n', field: /queue\.workers/ },
    { yaml: 'signing:\n  public_key: not-a-key\n', field: /signing\.public_key/ },
    { yaml: 'heartbeat_interval_s: "soon"\n', field: /heartbeat_interval_s/ },
  ];
  for (const [index, item] of cases.entries()) {
    const stateDir = join(dir, `state-${index}`);
    const agent = await startAgent(t, { serverUrl: 'ws://127.0.0.1:9', stateDir, env: item.env, configYaml: item.yaml });
    const exit = await agent.exited;
    assert.equal(exit.code, 78, `case ${index}: ${agent.stderr}`);
    assert.match(agent.stderr, item.field);
    assert.equal(agent.logs('starting').length, 0);
  }
});

test('a command re-sent after it finished is answered from the journal, not run again (also after a restart)', async (t) => {
  const { hub, stateDir } = await hubAndDir(t);
  const first = await startAgent(t, { serverUrl: hub.url, stateDir });
  await first.waitForLog('registered');
  const command = { type: 'command', command_id: 'j-1', command: 'echo', data: { message: 'once' } };
  hub.send(command);
  const original = await until('first response', () => hub.responsesFor('j-1')[0]);
  hub.send(command);
  await until('second response', () => hub.responsesFor('j-1').length >= 2);
  assert.deepEqual(hub.responsesFor('j-1')[1], original);
  const runs = () => first.logs('audit').filter((line) => line.command_id === 'j-1');
  assert.deepEqual(
    runs().map((line) => line.outcome),
    ['ok', 'replayed_from_journal'],
  );

  first.child.kill('SIGTERM');
  await first.exited;
  const second = await startAgent(t, { serverUrl: hub.url, stateDir });
  await second.waitForLog('registered');
  hub.send(command);
  await until('third response', () => hub.responsesFor('j-1').length >= 3);
  assert.deepEqual(hub.responsesFor('j-1')[2], original);
  assert.deepEqual(
    second.logs('audit').map((line) => line.outcome),
    ['replayed_from_journal'],
  );
});

test('kill -9 mid-command: after restart the command is answered "interrupted" and never run', async (t) => {
  const { hub, stateDir } = await hubAndDir(t);
  const first = await startAgent(t, { serverUrl: hub.url, stateDir, configYaml: 'allow: [ping, restart]\n' });
  await first.waitForLog('registered');
  first.child.kill('SIGTERM');
  await first.exited;
  // The agent's own dispatcher runs a command that never ends on this state dir; kill -9 it mid-run.
  const child = spawn(process.execPath, [LONG_COMMAND_CHILD, stateDir, 'long-1', 'restart'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.on('data', (chunk) => String(chunk).includes('running') && resolve()));
  const killed = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await killed;

  const second = await startAgent(t, { serverUrl: hub.url, stateDir, configYaml: 'allow: [ping, restart]\n' });
  await second.waitForLog('registered');
  const register = hub.received.filter((entry) => entry.connection === 2 && entry.message.type === 'register')[0]!.message;
  assert.deepEqual(register.data.pending_command_ids, ['long-1']);
  const response = await until('interrupted response', () => hub.responsesFor('long-1')[0]);
  assert.equal(response.success, false);
  assert.equal(response.error_code, 'failed');
  assert.equal(response.error, 'interrupted: the agent stopped while this command ran');

  // The hub re-sends it: answered from the journal; a second run would exit 42.
  hub.send({ type: 'command', command_id: 'long-1', command: 'restart', data: {} });
  await until('replayed', () => hub.responsesFor('long-1').length >= 2);
  hub.send({ type: 'command', command_id: 'after', command: 'ping' });
  await until('ping after', () => hub.responsesFor('after')[0]);
  assert.equal(second.child.exitCode, null);
  assert.deepEqual(
    second
      .logs('audit')
      .filter((line) => line.command_id === 'long-1')
      .map((line) => line.outcome),
    ['interrupted', 'replayed_from_journal'],
  );
});
