// exec actions, git_pull and docker_restart against a scripted hub: argv from the local config
// only, hub values checked, cancel and timeouts kill the whole process tree, deadlines refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until, TEST_API_KEY } from './helpers/agent-process.ts';
import { isAlive as alive } from '../../test/helpers/process.ts';

const TREE = fileURLToPath(new URL('./helpers/process-tree.mjs', import.meta.url));
const FAKE_DOCKER = fileURLToPath(new URL('./helpers/fake-docker.mjs', import.meta.url));
const EFFECT = fileURLToPath(new URL('../../test/transport/fixtures/effect.mjs', import.meta.url));

async function setup(t: Parameters<typeof makeTempDir>[0], extraYaml = '') {
  const hub = await new FakeHub().start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  const data = join(dir, 'data');
  await mkdir(data);
  const yaml = [
    'allow: [ping, exec, git_pull, docker_restart]',
    'actions:',
    '  effect:',
    `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(join(dir, 'effects'))}, "{id}", "{lines}", "{sleep_ms}"]`,
    '    args:',
    '      id: { pattern: "[A-Za-z0-9_.-]{1,80}" }',
    '      lines: { pattern: "[0-9]{1,6}" }',
    '      sleep_ms: { pattern: "[0-9]{1,6}" }',
    '  tree:',
    `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TREE)}, "{pid_file}"]`,
    '    args:',
    `      pid_file: { pattern: ".+", paths_under: [${JSON.stringify(dir)}] }`,
    '  cat_file:',
    '    argv: [cat, "{path}"]',
    '    args:',
    `      path: { pattern: "[A-Za-z0-9_./-]+", paths_under: [${JSON.stringify(data)}] }`,
    '  show_env:',
    '    argv: [env]',
    '  slow:',
    `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TREE)}, "{pid_file}"]`,
    '    timeout_s: 1',
    '    args:',
    `      pid_file: { pattern: ".+", paths_under: [${JSON.stringify(dir)}] }`,
    extraYaml,
  ].join('\n');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'state'), configYaml: `${yaml}\n`, env: { FAKE_DOCKER_LOG: join(dir, 'docker.log') } });
  await agent.waitForLog('registered');
  const effects = () => (existsSync(join(dir, 'effects')) ? readFileSync(join(dir, 'effects'), 'utf8').split('\n').filter(Boolean) : []);
  const run = async (id: string, command: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    hub.send({ type: 'command', command_id: id, command, data, ...extra });
    return until(`response to ${id}`, () => hub.responsesFor(id)[0], 30_000);
  };
  return { hub, dir, data, agent, effects, run };
}

test('exec runs a configured action: output streamed as job_output and returned, capped', async (t) => {
  const { hub, effects, run } = await setup(t);
  const response = await run('e-1', 'exec', { action: 'effect', args: { id: 'e-1', lines: 3, sleep_ms: 0 } });
  assert.equal(response.success, true, JSON.stringify(response));
  assert.equal(response.data.exit_code, 0);
  assert.equal(response.data.stdout, 'line 1 of e-1\nline 2 of e-1\nline 3 of e-1\n');
  assert.deepEqual(effects(), ['e-1']);
  const lines = hub
    .messages('job_output')
    .filter((m) => m.command_id === 'e-1')
    .map((m) => m.line);
  assert.deepEqual(lines, ['line 1 of e-1', 'line 2 of e-1', 'line 3 of e-1']);

  const big = await run('e-2', 'exec', { action: 'effect', args: { id: 'e-2', lines: 70000, sleep_ms: 0 } });
  assert.equal(big.success, true);
  assert.match(big.data.stdout, /\[output truncated: \d+ more bytes\]$/);
  assert.ok(big.data.stdout.length < 80 * 1024, 'result output is capped');
  const streamed = hub.messages('job_output').filter((m) => m.command_id === 'e-2');
  assert.ok(streamed.length < 70000, 'streamed output is rate-limited and capped too');
  assert.ok(
    streamed.some((m) => /output rate limit|output truncated/.test(m.line)),
    'with a marker',
  );
});

test("programs get an allowlisted environment: not the agent key, not the agent's other variables", async (t) => {
  const { run } = await setup(t);
  const response = await run('env-1', 'exec', { action: 'show_env' });
  assert.equal(response.success, true);
  assert.match(response.data.stdout, /^PATH=/m);
  assert.doesNotMatch(response.data.stdout, /TETHER_STATE_DIR=|FAKE_DOCKER_LOG=/);
  assert.equal(response.data.stdout.includes(TEST_API_KEY), false);
});

test('injection attempts are refused before anything runs', async (t) => {
  const { effects, run, data } = await setup(
    t,
    `git_pull:\n  repositories: [/srv/app]\ndocker_restart:\n  containers: [web]\n  docker: ${JSON.stringify(FAKE_DOCKER)}\n  pass_env: [FAKE_DOCKER_LOG]\n`,
  );
  await writeFile(join(data, 'ok.txt'), 'fine');
  const attempts: Array<[string, Record<string, unknown>, RegExp]> = [
    ['exec', { action: 'effect', args: { id: '-rf', lines: 1, sleep_ms: 0 } }, /must not start with "-"/],
    ['exec', { action: 'effect', args: { id: 'x', lines: '1; rm -rf /', sleep_ms: 0 } }, /does not match the pattern/],
    ['exec', { action: 'effect', args: { id: 'x', lines: 1, sleep_ms: 0, extra: 'y' } }, /takes no arg "extra"/],
    ['exec', { action: 'effect', args: { id: 'x', lines: 1 } }, /needs args\.sleep_ms/],
    ['exec', { action: 'cat_file', args: { path: `${data}/../../etc/passwd` } }, /\.\." path segments/],
    ['exec', { action: 'cat_file', args: { path: '/etc/passwd' } }, /outside the allowed directories/],
    ['exec', { action: '../bin/sh', args: {} }, /action names/],
    ['exec', { action: 'no_such_action', args: {} }, /no action "no_such_action"/],
    ['git_pull', { repository_path: '/srv/app/../../etc' }, /\.\." path segments/],
    ['git_pull', { repository_path: '/srv/other' }, /not in this agent's allowlist/],
    ['git_pull', { repository_path: '/srv/app', branch: '--upload-pack=touch /tmp/pwned' }, /must not start with "-"/],
    ['git_pull', { repository_path: '-C/etc' }, /must not start with "-"/],
    ['docker_restart', { container_name: '-v' }, /must not start with "-"/],
    ['docker_restart', { container_name: 'db' }, /not in this agent's allowlist/],
  ];
  for (const [index, [command, payload, why]] of attempts.entries()) {
    const response = await run(`inj-${index}`, command, payload);
    assert.equal(response.success, false, `attempt ${index} must be refused`);
    assert.equal(response.error_code, 'invalid_params', `attempt ${index}: ${response.error}`);
    assert.match(response.error, why, `attempt ${index}`);
  }
  assert.deepEqual(effects(), [], 'no action ran');
  const ok = await run('inj-ok', 'exec', { action: 'cat_file', args: { path: join(data, 'ok.txt') } });
  assert.equal(ok.data.stdout, 'fine');
});

test('cancel kills the whole process tree, grandchildren included', async (t) => {
  const { hub, dir, run } = await setup(t);
  const pidFile = join(dir, 'tree.pids');
  hub.send({ type: 'command', command_id: 'c-1', command: 'exec', data: { action: 'tree', args: { pid_file: pidFile } } });
  const [child, grandchild] = await until('pid file', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').split(' ').map(Number));
  assert.ok(alive(child!) && alive(grandchild!));
  hub.send({ type: 'cancel', command_id: 'c-1' });
  const response = await until('cancel response', () => hub.responsesFor('c-1')[0]);
  assert.equal(response.error_code, 'cancelled');
  await until('child and grandchild gone', () => !alive(child!) && !alive(grandchild!), 15_000);
  const after = await run('c-2', 'ping', {});
  assert.equal(after.success, true);
});

test('timeouts: the command timeout_s and an action timeout_s both answer `timeout` and kill the tree', async (t) => {
  const { dir, run } = await setup(t);
  for (const [id, action, extra] of [
    ['t-1', 'tree', { timeout_s: 1 }],
    ['t-2', 'slow', {}],
  ] as const) {
    const pidFile = join(dir, `${id}.pids`);
    const response = await run(id, 'exec', { action, args: { pid_file: pidFile } }, extra);
    assert.equal(response.error_code, 'timeout', JSON.stringify(response));
    const [child, grandchild] = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await until(`${id}: tree gone`, () => !alive(child!) && !alive(grandchild!), 15_000);
  }
});

test('a deadline in the past is answered `expired` and the action never runs', async (t) => {
  const { effects, run } = await setup(t);
  const response = await run('d-1', 'exec', { action: 'effect', args: { id: 'd-1', lines: 0, sleep_ms: 0 } }, { deadline: new Date(Date.now() - 1000).toISOString() });
  assert.equal(response.error_code, 'expired');
  assert.deepEqual(effects(), []);
});

test('git_pull fast-forwards an allowlisted repository; docker_restart runs the configured docker', async (t) => {
  const dir = await makeTempDir(t, 'tether-git-');
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } }).toString();
  git('init', '-q', '--bare', '-b', 'main', 'origin.git');
  git('clone', '-q', 'origin.git', 'work');
  git('clone', '-q', 'origin.git', 'deployed');
  await writeFile(join(dir, 'work', 'release.txt'), 'v2\n');
  git('-C', 'work', 'add', 'release.txt');
  git('-C', 'work', 'commit', '-q', '-m', 'v2');
  git('-C', 'work', 'push', '-q', 'origin', 'HEAD:main');
  const deployed = join(dir, 'deployed');
  const { run } = await setup(
    t,
    `git_pull:\n  repositories: [${JSON.stringify(deployed)}]\ndocker_restart:\n  containers: [web]\n  docker: ${JSON.stringify(FAKE_DOCKER)}\n  pass_env: [FAKE_DOCKER_LOG]\n`,
  );
  const pulled = await run('g-1', 'git_pull', { repository_path: deployed, branch: 'main' });
  assert.equal(pulled.success, true, JSON.stringify(pulled));
  assert.equal(readFileSync(join(deployed, 'release.txt'), 'utf8'), 'v2\n');

  const restarted = await run('dr-1', 'docker_restart', { container_name: 'web' });
  assert.equal(restarted.success, true, JSON.stringify(restarted));
  assert.equal(restarted.data.output, 'web');
});

test('an action re-sent after it finished is answered from the journal and not run again', async (t) => {
  const { hub, effects, run } = await setup(t);
  const first = await run('r-1', 'exec', { action: 'effect', args: { id: 'r-1', lines: 1, sleep_ms: 0 } });
  assert.equal(first.success, true);
  hub.send({ type: 'command', command_id: 'r-1', command: 'exec', data: { action: 'effect', args: { id: 'r-1', lines: 1, sleep_ms: 0 } } });
  await until('second response', () => hub.responsesFor('r-1').length >= 2);
  assert.deepEqual(hub.responsesFor('r-1')[1], first);
  assert.deepEqual(effects(), ['r-1'], 'the action ran once');
});
