// Issue 9 item 15: ws:// and http:// to a hub that is not on this machine carry the agent key in
// clear and let anyone on the path inject frames (a close 4002 halts the agent for good). The agent
// refuses such a server_url with exit 78 unless the host's config allows it, and then warns at
// every start. No connection is needed to prove the refusal: it comes before any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLoopbackHost, plainTextProblem } from '../../agent/src/transport/plain-text.ts';
import { waitFor } from '../helpers/process.ts';
import { agentEnv, startAgent, tempDir } from '../helpers/system.ts';

const KEY = 'tak_plain_text_test_key_0123456789';

async function run(t: { after(fn: () => unknown): void }, serverUrl: string, extra: NodeJS.ProcessEnv = {}) {
  const dir = await tempDir('security-plain');
  const agent = startAgent(agentEnv({ wsUrl: serverUrl }, KEY, join(dir.path, 'state'), extra));
  t.after(async () => {
    await agent.stop();
    await dir.remove();
  });
  return { agent, dir: dir.path };
}

for (const url of ['ws://10.255.255.1:7070', 'http://hub.example.invalid', 'ws://[fd00::1]:7070/ws/agent']) {
  test(`plain text to a non-loopback hub is refused: ${url}`, async (t) => {
    const { agent } = await run(t, url);
    assert.equal((await agent.exited).code, 78);
    const output = agent.lines.join('\n');
    assert.match(output, /refusing server_url .* is unencrypted/);
    assert.match(output, /use a wss:\/\/ \(or https:\/\/\) server_url, or set allow_insecure: true/);
    assert.ok(!agent.records().some((record) => record.msg === 'starting'), 'refused before starting');
  });
}

test('allow_insecure (env or YAML) lets it start, with a warning at every start', async (t) => {
  const byEnv = await run(t, 'ws://10.255.255.1:7070', { TETHER_ALLOW_INSECURE: '1' });
  await waitFor(() => byEnv.agent.records().find((record) => record.msg === 'starting'), 'the agent to start');
  assert.ok(byEnv.agent.records().some((record) => record.level === 40 && /^SECURITY: allow_insecure is set/.test(String(record.msg))));

  const dir = await tempDir('security-plain-yaml');
  t.after(() => dir.remove());
  const configPath = join(dir.path, 'agent.yaml');
  await writeFile(configPath, 'allow_insecure: true\n');
  const byYaml = await run(t, 'http://hub.example.invalid', { TETHER_CONFIG: configPath });
  await waitFor(() => byYaml.agent.records().find((record) => record.msg === 'starting'), 'the agent to start');
  assert.ok(byYaml.agent.records().some((record) => record.level === 40 && /^SECURITY: allow_insecure is set/.test(String(record.msg))));
});

test('loopback and TLS URLs pass; look-alikes do not', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost', 'LOCALHOST', '[::ffff:7f00:1]']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['10.255.255.1', '128.0.0.1', 'localhost.', 'localhost.example.com', 'foo.localhost', '[::2]', '0.0.0.0']) assert.equal(isLoopbackHost(host), false, host);
  assert.equal(plainTextProblem('wss://hub.example.com'), null);
  assert.equal(plainTextProblem('https://hub.example.com/ws/agent'), null);
  assert.equal(plainTextProblem('ws://127.1:7070'), null, 'the URL parser normalises 127.1');
  assert.equal(plainTextProblem('ws://2130706433:7070'), null, '2130706433 is 127.0.0.1');
  assert.notEqual(plainTextProblem('ws://127.0.0.1.nip.io'), null);
});
