// Issue 9 item 13: `tether agents` printed agent-supplied hostname, version and id raw, so
// ESC[2K ESC[1A reached the operator's terminal. A scripted agent speaking the real protocol to a
// real hub registers with escape sequences (C0, C1, bidi, CR/LF) in every field it controls and
// answers commands with them; every `tether` command that shows them runs as a real process and
// its output must hold no raw control character. --json output must still parse to the same values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HUB_CLI, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';

const HOSTNAME = '\u001b[2K\u001b[1Aevil';
const VERSION = '1.0\u009b2J\u007f';
const AGENT_ID = 'agent-\u202eevil\r\nFAKE ROW';
const KEY_NAME = 'host \u001b]0;retitled\u0007';
const ECHO_ANSWER = '\u001b[31mred\u001b[0m \u009b1;1H \u2028';
const FAILURE = '\u001b]0;pwned\u0007 and\nTETHER: fake line';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let keyId: string;
let socket: TestSocket;

/** Raw control characters a terminal acts on: C0 except newline, DEL, C1, bidi controls, separators. */
function rawControls(text: string): string[] {
  return [...text.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g)].map(
    (match) => `U+${match[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

async function tether(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [HUB_CLI, ...args, '--hub', hub.url, '--token', hub.token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  child.stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') };
}

function assertClean(output: { stdout: string; stderr: string }, what: string): void {
  assert.deepEqual(rawControls(output.stdout), [], `${what}: stdout holds raw controls:\n${JSON.stringify(output.stdout)}`);
  assert.deepEqual(rawControls(output.stderr), [], `${what}: stderr holds raw controls:\n${JSON.stringify(output.stderr)}`);
}

before(async () => {
  dir = await tempDir('security-terminal');
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  const key = await hub.createKey(KEY_NAME, ['ping', 'echo']);
  keyId = key.id;
  socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${key.key}` });
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', data: { agent_id: AGENT_ID, hostname: HOSTNAME, version: VERSION, os: 'Linux \u001b[5m', capabilities: ['ping', 'echo'] } });
  await socket.next('registered');
  socket.ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type !== 'command') return;
    if (frame.command === 'echo') socket.send({ type: 'response', command_id: frame.command_id, success: true, data: { echo: ECHO_ANSWER, [ECHO_ANSWER]: 1 } });
    else socket.send({ type: 'response', command_id: frame.command_id, success: false, data: {}, error: FAILURE });
  });
});

after(async () => {
  socket?.ws.close();
  await hub?.stop();
  await dir?.remove();
});

test('`tether agents` escapes the hostname, version and id an agent registered with', async () => {
  const listed = await tether(['agents']);
  assert.equal(listed.code, 0, listed.stderr);
  assertClean(listed, 'tether agents');
  assert.equal(listed.stdout.includes('\u001b'), false, 'no ESC byte');
  assert.ok(listed.stdout.includes('\\x1b[2K\\x1b[1Aevil'), `the hostname is shown escaped:\n${listed.stdout}`);
  assert.ok(listed.stdout.includes('1.0\\x9b2J\\x7f'), 'the version is shown escaped');
  assert.ok(listed.stdout.includes('agent-\\u202eevil\\x0d\\x0aFAKE ROW'), 'the id is shown escaped, on its own row');
  assert.equal(listed.stdout.trim().split('\n').length, 2, 'a header and one row: a newline in the id forges no row');
});

test('`tether agents --json` stays JSON with the exact values, and still holds no raw control', async () => {
  const listed = await tether(['agents', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assertClean(listed, 'tether agents --json');
  const agent = JSON.parse(listed.stdout).agents.find((item: { key_id: string }) => item.key_id === keyId);
  assert.equal(agent.hostname, HOSTNAME);
  assert.equal(agent.version, VERSION);
  assert.equal(agent.agent_id, AGENT_ID);
});

test('`tether keys list` / `keys show` escape key names', async () => {
  for (const args of [
    ['keys', 'list'],
    ['keys', 'show', keyId],
  ]) {
    const shown = await tether(args);
    assert.equal(shown.code, 0, shown.stderr);
    assertClean(shown, `tether ${args.join(' ')}`);
    assert.ok(shown.stdout.includes('host \\x1b]0;retitled\\x07'), shown.stdout);
  }
});

test("`tether send` prints an agent's result and its error text escaped", async () => {
  const echoed = await tether(['send', keyId, 'echo', '{"message":"hi"}']);
  assert.equal(echoed.code, 0, echoed.stderr);
  assertClean(echoed, 'tether send echo');
  const resultJson = echoed.stdout.slice(echoed.stdout.indexOf('\n') + 1);
  assert.deepEqual(JSON.parse(resultJson).data, { echo: ECHO_ANSWER, [ECHO_ANSWER]: 1 }, 'the result is still JSON with the exact values');

  const failed = await tether(['send', keyId, 'ping']);
  assert.equal(failed.code, 1);
  assertClean(failed, 'tether send (failed)');
  assert.match(failed.stderr, /^tether: command failed: \\x1b\]0;pwned\\x07 and\\x0aTETHER: fake line\n$/);

  const json = await tether(['send', keyId, 'ping', '--json']);
  assertClean(json, 'tether send --json');
  assert.equal(JSON.parse(json.stdout).result.error, FAILURE);
});

test('`tether hub` log lines show the agent-supplied strings escaped too (C1 and bidi, not only C0)', async () => {
  const registered = await hub.process.waitForLine((_line, record) => record?.msg === 'agent registered');
  assert.ok(registered);
  assert.deepEqual(rawControls(hub.process.lines.join('\n')), [], 'the hub log holds raw controls');
});
