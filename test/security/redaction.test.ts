// Issue 9 item 12: secrets where the redaction did not see them. Each leak is reproduced on real
// processes and shown masked: `tether-agent dump-state` on a config full of secrets (URL
// passwords, PGPASSWORD / MYSQL_PWD / AWS_SECRET_ACCESS_KEY in env maps, server_url userinfo and
// ?api_key=) and a command log holding a result that quotes them, a YAML syntax error on the api_key line, an agent's audit log line with a URL that
// carries a password, and hub log lines with agent-supplied URLs and the hub's own secrets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_MAIN, HUB_CLI, agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import { startProcess, waitFor } from '../helpers/process.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { createLogger } from '@tether/shared/logger.ts';
import { CommandLog } from '../../agent/src/log/command-log.ts';

const S = `${process.pid}x${Date.now()}`;
/** Every secret planted below; none may appear in what a person reads. */
const SECRETS = {
  api_key: `tk_live_apikey_${S}`,
  server_url_password: `hubpass_${S}`,
  server_url_query_key: `querykey_${S}`,
  postgres_url_password: `pgurlpass_${S}`,
  password_env_value: `pwenv_${S}`,
  command_pgpassword: `cmdpg_${S}`,
  command_mysql_pwd: `cmdmy_${S}`,
  command_argv_password: `argvpass_${S}`,
  action_aws_secret: `awssecret_${S}`,
  action_github_token: `ghtoken_${S}`,
  action_dsn_password: `dsnpass_${S}`,
  outbox_url_password: `outboxpass_${S}`,
};

let dir: { path: string; remove(): Promise<void> };

before(async () => {
  dir = await tempDir('security-redaction');
});
after(() => dir?.remove());

function assertMasked(text: string, what: string): void {
  for (const [name, value] of Object.entries(SECRETS)) assert.equal(text.includes(value), false, `${what} leaks ${name}:\n${text}`);
}

function runAgentCli(args: string[], env: Record<string, string>) {
  return startProcess([AGENT_MAIN, ...args], { env: { TETHER_SERVER_URL: '', TETHER_API_KEY: '', ...env } });
}

test('dump-state, as a real process, masks by name, by pattern and by value', async () => {
  const state = join(dir.path, 'dump-state');
  await mkdir(state, { recursive: true, mode: 0o700 });
  // A result waiting in the outbox (the command log) that quotes the key and a URL with a password.
  const commandLog = new CommandLog(state, { retentionMs: 3600_000, maxEntries: 1000 }, createLogger({ name: 'test', level: 'silent' }));
  await commandLog.store(
    'c1',
    { type: 'response', command_id: 'c1', success: false, data: {}, error: `push to https://ci:${SECRETS.outbox_url_password}@ci.example/hook failed for ${SECRETS.api_key}` },
    { journal: true, sync: true },
  );
  commandLog.close();
  const config = join(dir.path, 'dump-state.yaml');
  await writeFile(
    config,
    `
server_url: "wss://agent:${SECRETS.server_url_password}@hub.example.com/ws/agent?api_key=${SECRETS.server_url_query_key}"
api_key: ${SECRETS.api_key}
state_dir: ${JSON.stringify(state)}
actions:
  deploy:
    argv: [/usr/local/bin/deploy]
    env:
      AWS_ACCESS_KEY_ID: AKIAVISIBLEID
      AWS_SECRET_ACCESS_KEY: ${SECRETS.action_aws_secret}
      GITHUB_TOKEN: ${SECRETS.action_github_token}
      SENTRY_DSN: "https://public:${SECRETS.action_dsn_password}@sentry.example/1"
      APP_MODE: production-visible
backup:
  targets:
    app:
      kind: postgres
      url: "postgres://backup:${SECRETS.postgres_url_password}@db.example:5432"
      databases: [app]
      password_env: APP_DB_PASSWORD
    ldap:
      kind: command
      argv: [/usr/sbin/slapcat, "--password=${SECRETS.command_argv_password}"]
      env:
        PGPASSWORD: ${SECRETS.command_pgpassword}
        MYSQL_PWD: ${SECRETS.command_mysql_pwd}
`,
    { mode: 0o600 },
  );
  const env = { TETHER_CONFIG: config, APP_DB_PASSWORD: SECRETS.password_env_value };
  const dump = runAgentCli(['dump-state'], env);
  assert.equal((await dump.exited).code, 0, dump.lines.join('\n'));
  const text = dump.lines.join('\n');
  assertMasked(text, 'dump-state');
  const shown = JSON.parse(text);
  // What is not secret stays readable.
  assert.equal(shown.config.actions.deploy.env.APP_MODE, 'production-visible');
  assert.equal(shown.config.actions.deploy.env.AWS_ACCESS_KEY_ID, 'AKIAVISIBLEID');
  assert.equal(shown.config.backup.targets.app.password_env, 'APP_DB_PASSWORD');
  assert.equal(shown.config.backup.targets.app.url, 'postgres://backup:[redacted]@db.example:5432');
  assert.equal(shown.config.server_url, 'wss://agent:[redacted]@hub.example.com/ws/agent?api_key=[redacted]');
  assert.deepEqual(shown.config.backup.targets.ldap.argv, ['/usr/sbin/slapcat', '--password=[redacted]']);
  assert.equal(shown.config.backup.targets.ldap.env.PGPASSWORD, '[redacted]');
  // The log is summarized (ids, not responses): the pending result is listed, its text is not printed.
  assert.deepEqual(shown.command_log.pending_command_ids, ['c1']);

  // --allow-secrets is the one way to see them.
  const raw = runAgentCli(['dump-state', '--allow-secrets'], env);
  assert.equal((await raw.exited).code, 0);
  assert.equal(JSON.parse(raw.lines.join('\n')).config.api_key, SECRETS.api_key);
});

test('a YAML syntax error on the api_key line says where, never what the line holds', async () => {
  const broken = [
    `api_key: "${SECRETS.api_key}\nallow: [ping]\n`, // unterminated quote
    `api_key: ${SECRETS.api_key}: ${SECRETS.server_url_password}\n`, // a ": " inside a plain value
    `api_key: "${SECRETS.api_key}\\q"\n`, // a bad escape
    `allow: [ping]\n\tapi_key: ${SECRETS.api_key}\n`, // tab indentation
    `api_key: [${SECRETS.api_key}\n`, // unclosed flow sequence
    `api_key: @${SECRETS.api_key}\n`, // reserved first character
  ];
  for (const [index, yaml] of broken.entries()) {
    const file = join(dir.path, `broken-${index}.yaml`);
    await writeFile(file, `server_url: wss://hub.example.com\n${yaml}`, { mode: 0o600 });
    for (const args of [['run'], ['dump-state']]) {
      const agent = runAgentCli(args, { TETHER_CONFIG: file });
      const { code } = await agent.exited;
      const output = agent.lines.join('\n');
      assert.equal(code, 78, `case ${index} ${args[0]}: ${output}`);
      assert.match(output, /is not valid YAML/);
      assert.match(output, /line \d+, column \d+: /, `case ${index} names the position: ${output}`);
      assertMasked(output, `YAML error case ${index} (${args[0]})`);
    }
  }
});

test('agent logs: an action argv with a URL password, a query key and --password= is logged masked', async () => {
  const hubData = join(dir.path, 'hub-agent-logs');
  await mkdir(hubData);
  const hub = await startHub({ dataDir: hubData });
  try {
    const key = await hub.createKey('log-host', ['ping', 'exec']);
    const config = join(dir.path, 'agent-logs.yaml');
    await writeFile(
      config,
      `
allow: [ping, exec]
actions:
  notify:
    argv: [/bin/echo, "https://deploy:${SECRETS.postgres_url_password}@ci.example/hook?token=${SECRETS.action_github_token}", "--password=${SECRETS.command_argv_password}"]
    env: { AWS_SECRET_ACCESS_KEY: ${SECRETS.action_aws_secret} }
  leak_env_value:
    argv: [/bin/echo, "${SECRETS.action_aws_secret}"]
`,
      { mode: 0o600 },
    );
    const agent = startAgent(agentEnv(hub, key.key, join(dir.path, 'agent-logs-state'), { TETHER_CONFIG: config }));
    try {
      await waitForAgent(hub, key.id);
      for (const action of ['notify', 'leak_env_value']) {
        const answer = await command(hub, key.id, 'exec', { action }, 30);
        assert.equal(answer.body.result?.success, true, JSON.stringify(answer.body));
      }
      const audit = await waitFor(() => agent.records().find((record) => record.msg === 'running program' && String(record.run).includes('notify')), 'audit line of notify');
      assert.deepEqual(audit.argv, ['/bin/echo', 'https://deploy:[redacted]@ci.example/hook?token=[redacted]', '--password=[redacted]']);
      await waitFor(() => agent.records().some((record) => record.msg === 'program finished' && String(record.run).includes('leak_env_value')), 'second run finished');
      assertMasked(agent.lines.join('\n'), 'the agent log');
      assert.equal(agent.lines.join('\n').includes(key.key), false, 'the agent log leaks its key');
    } finally {
      await agent.stop();
    }
  } finally {
    await hub.stop();
  }
});

test("hub logs: agent-supplied URLs with passwords and the hub's own secret values are masked", async () => {
  const hubData = join(dir.path, 'hub-logs');
  await mkdir(hubData);
  const hub = await startHub({ dataDir: hubData, env: { AWS_ACCESS_KEY_ID: 'AKIAHUBLOGS', AWS_SECRET_ACCESS_KEY: SECRETS.action_aws_secret } });
  try {
    const key = await hub.createKey('hub-log-host', ['ping']);
    const socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${key.key}` });
    await socket.opened;
    await socket.next('connected');
    socket.send({
      type: 'register',
      data: {
        agent_id: 'hub-log-agent',
        hostname: `postgres://admin:${SECRETS.postgres_url_password}@db.internal/${SECRETS.action_aws_secret}`,
        version: `1.0.0?api_key=${SECRETS.server_url_query_key}`,
        os: 'Linux',
        capabilities: ['ping'],
      },
    });
    await socket.next('registered');
    const registered = await hub.process.waitForLine((_line, record) => record?.msg === 'agent registered');
    assert.equal(registered?.hostname, 'postgres://admin:[redacted]@db.internal/[redacted]');
    assert.equal(registered?.version, '1.0.0?api_key=[redacted]');
    socket.ws.close();
    assertMasked(hub.process.lines.join('\n'), 'the hub log');
    assert.equal(hub.process.lines.join('\n').includes(key.key), false, 'the hub log leaks an agent key');
  } finally {
    await hub.stop();
  }
});

test('the operator CLI masks a password in --hub when it cannot reach or parse it', async () => {
  for (const hubUrl of [`http://admin:${SECRETS.server_url_password}@127.0.0.1:9`, `ftp://admin:${SECRETS.server_url_password}@hub/?api_key=${SECRETS.server_url_query_key}`]) {
    const cli = startProcess([HUB_CLI, 'agents', '--hub', hubUrl, '--token', 'admin-token-for-test']);
    const { code } = await cli.exited;
    const output = cli.lines.join('\n');
    assert.notEqual(code, 0);
    assert.match(output, /^tether: /);
    assert.match(output, /admin:\[redacted\]@/);
    assertMasked(output, 'tether agents --hub');
  }
});
