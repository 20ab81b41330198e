// The command line of the real supervisor entry: bad arguments get a clear message and exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, FAKE_AGENT } from './helpers.ts';

const badArguments: [string[], RegExp][] = [
  [[], /missing command/],
  [['launch'], /unknown command "launch"/],
  [['run', '--bogus'], /Unknown option '--bogus'.*Known flags: --agent-entry/s],
  [['run', 'extra'], /Unexpected argument 'extra'|positional/i],
  [['run', '--agent-entry', FAKE_AGENT, '--backoff-cap-s', '0'], /--backoff-cap-s: "0" is not a number of seconds between 1 and 300/],
  [['run', '--agent-entry', FAKE_AGENT, '--backoff-cap-s', '301'], /between 1 and 300/],
  [['run', '--agent-entry', FAKE_AGENT, '--stop-grace-s', 'soon'], /--stop-grace-s: "soon"/],
  [['run', '--agent-entry', FAKE_AGENT, '--ready-grace-s', ''], /--ready-grace-s/],
  [['run', '--agent-entry', '/nonexistent/agent.mjs'], /--agent-entry: \/nonexistent\/agent.mjs is not a file/],
  [['run', '--agent-entry'], /--agent-entry/],
  [['status', '--json=yes'], /--json/],
];

for (const [args, message] of badArguments) {
  test(`bad arguments ${JSON.stringify(args)}: clear message, exit 2`, async () => {
    const result = await runCli(args, { TETHER_AGENT_ENTRY: '' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /usage:/);
  });
}

test('a bad test knob in the environment is a configuration error (exit 78), nothing started', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-supervisor-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const result = await runCli(['run', '--agent-entry', FAKE_AGENT, '--state-dir', dir], { TETHER_SUPERVISOR_BACKOFF_BASE_MS: 'fast' });
  assert.equal(result.code, 78);
  assert.match(result.stderr, /TETHER_SUPERVISOR_BACKOFF_BASE_MS: "fast" is not a whole number/);
});

test('TETHER_AGENT_ENTRY pointing nowhere is a configuration error (exit 78)', async () => {
  const result = await runCli(['run'], { TETHER_AGENT_ENTRY: '/nonexistent/agent.mjs' });
  assert.equal(result.code, 78);
  assert.match(result.stderr, /TETHER_AGENT_ENTRY: \/nonexistent\/agent.mjs is not a file/);
});

test('help prints the usage and exits 0', async () => {
  const result = await runCli(['help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /tether-supervisor run/);
});
