// Job output across a drop: lines printed while the link is down are kept and sent after the
// reconnect, before the response, so the hub's view of the job is complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until } from './helpers/agent-process.ts';

const PRINT_LINES = fileURLToPath(new URL('./helpers/print-lines.mjs', import.meta.url));

test('output printed while the link is down reaches the hub after the reconnect, in order, before the response', async (t) => {
  const hub = await new FakeHub().start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  const yaml = ['allow: [exec]', 'actions:', '  print:', `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(PRINT_LINES)}, ${JSON.stringify(dir)}, "20", "30"]`, ''].join('\n');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'state'), configYaml: yaml });
  await agent.waitForLog('registered');
  hub.send({ type: 'command', command_id: 'job-1', command: 'exec', data: { action: 'print' } });
  const lines = () => hub.received.filter((entry) => entry.message.type === 'job_output' && entry.message.command_id === 'job-1');
  await until('the first batch', () => lines().some((entry) => entry.message.line === 'line 20'));

  // Drop the link and keep the agent out while the second batch is printed.
  hub.options.rejectWithStatus = 503;
  hub.current!.terminate();
  await agent.waitForLog('disconnected');
  await writeFile(join(dir, 'dropped'), '');
  await until('the second batch printed', () => existsSync(join(dir, 'printed')));
  await until('a refused reconnect', () => agent.logs('connection attempt failed').length >= 1);
  delete hub.options.rejectWithStatus;
  await until('all 50 lines at the hub', () => lines().length >= 50, 30_000);
  await writeFile(join(dir, 'finish'), '');
  await until('the response', () => hub.responsesFor('job-1')[0], 30_000);

  const received = lines();
  assert.deepEqual(
    received.map((entry) => entry.message.line),
    Array.from({ length: 50 }, (_, i) => `line ${i + 1}`),
    'complete and in order',
  );
  assert.ok(
    received.filter((entry) => Number(entry.message.line.split(' ')[1]) > 20).every((entry) => entry.connection >= 2),
    'the second batch went over the new link',
  );
  assert.equal(received.filter((entry) => entry.message.dropped).length, 0, 'nothing had to be dropped');
  const responseAt = hub.received.findIndex((entry) => entry.message.type === 'response' && entry.message.command_id === 'job-1');
  const lastLineAt = hub.received.indexOf(received.at(-1)!);
  assert.ok(lastLineAt < responseAt, 'the output goes before the response that ends the job');
});
