// Issue 9 item 5: the programs the agent starts get an allowlisted environment, never the agent
// key and never another target's password. Attacked with a real hub and a real agent whose own
// environment is full of secrets: `env` as an exec action, as a `command` backup target (artifact
// uploaded to the hub, decrypted with the real age CLI), as a restore tool, as git and docker;
// pg_dump against a private PostgreSQL that checks passwords; mariadb-dump against MariaDB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { startPrivatePostgres } from '../helpers/private-postgres.ts';
import type { PrivatePostgres } from '../helpers/private-postgres.ts';

const run = promisify(execFile);
const requireServices = process.env.TETHER_REQUIRE_SERVICES === '1';
const suffix = `${process.pid}_${Date.now()}`;

// The agent's own environment: the key, every target's password, cloud credentials, and the
// ambient variables database tools read by themselves.
const APP_PASSWORD = `app-pw-${suffix}`;
const SHOP_PASSWORD = `shop-pw-${suffix}`;
const AWS_SECRET = `aws-secret-${suffix}`;
const AMBIENT_MYSQL_PWD = `ambient-mysql-${suffix}`;
const SHOP_USER = `tether_sec_${suffix}`.slice(0, 32);
const SHOP_DB = `tether_sec_shop_${suffix}`;

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let keyId: string;
let agentKey: string;
let identityFile: string;
let pg: PrivatePostgres | null = null;
let mariadbReady = false;

const maria = (sql: string) => run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', '-e', sql]);

async function script(path: string, body: string): Promise<string> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Every secret the agent holds that none of the checked children may see (outside its own target). */
function secretsExcept(...own: string[]): Record<string, string> {
  const all: Record<string, string> = { agent_key: agentKey, app_password: APP_PASSWORD, shop_password: SHOP_PASSWORD, aws_secret: AWS_SECRET, ambient_mysql_pwd: AMBIENT_MYSQL_PWD };
  for (const name of own) delete all[name];
  return all;
}

function assertNoSecrets(text: string, what: string, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) assert.equal(text.includes(value), false, `${what} must not see ${name}:\n${text}`);
  assert.doesNotMatch(text, /^(TETHER|MICROHACK|AWS)_/m, `${what} must not get TETHER_*/MICROHACK_*/AWS_* variables`);
}

before(async () => {
  dir = await tempDir('security-child-env');
  identityFile = join(dir.path, 'identity.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();

  const started = await startPrivatePostgres();
  if ('missing' in started) {
    if (requireServices) throw new Error(`cannot start a private PostgreSQL: install ${started.missing}`);
    console.error(`\n!!! SKIP pg_dump password test: install ${started.missing}\n`);
  } else {
    pg = started;
    await pg.sql('postgres', `create role tether_sec_role login password '${APP_PASSWORD}'`);
    await pg.sql('postgres', 'create database tether_sec_db owner tether_sec_role');
    await pg.sql('tether_sec_db', "set role tether_sec_role; create table secrets_test (id int primary key, note text); insert into secrets_test values (1, 'dumped with its own password');");
  }
  try {
    await maria(`create database ${SHOP_DB}; create table ${SHOP_DB}.orders (id int primary key, item text); insert into ${SHOP_DB}.orders values (1, 'dumped through an option file');
      create user '${SHOP_USER}'@'%' identified by '${SHOP_PASSWORD}'; grant select, show view, trigger, event, lock tables on ${SHOP_DB}.* to '${SHOP_USER}'@'%';`);
    mariadbReady = true;
  } catch (error) {
    if (requireServices) throw error;
    console.error(`\n!!! SKIP mariadb-dump test: MariaDB at 127.0.0.1:3306 is not reachable (${(error as Error).message})\n`);
  }

  const printEnv = await script(join(dir.path, 'print-env'), 'exec /usr/bin/env');
  const pgDump = await script(join(dir.path, 'pg_dump'), `[ "$1" = --version ] || /usr/bin/env > ${join(dir.path, 'pg_dump.env')}\nexec /usr/bin/pg_dump "$@"`);
  const mariaDump = await script(join(dir.path, 'mariadb-dump'), `[ "$1" = --version ] || /usr/bin/env > ${join(dir.path, 'mariadb-dump.env')}\nexec mariadb-dump "$@"`);
  const restoreEnv = await script(join(dir.path, 'restore-env'), `/usr/bin/env > ${join(dir.path, 'restore.env')}\nexec /bin/cat > /dev/null`);
  const repo = join(dir.path, 'repo');
  await mkdir(repo);

  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  const key = await hub.createKey('leaky-host', ['ping', 'exec', 'git_pull', 'docker_restart', 'backup', 'backup_read', 'restore']);
  keyId = key.id;
  agentKey = key.key;
  const config = join(dir.path, 'agent.yaml');
  const pgUrl = `postgres://tether_sec_role@127.0.0.1:${pg?.port ?? 1}`;
  await writeFile(
    config,
    `
allow: [ping, exec, git_pull, docker_restart, backup, backup_read, restore]
actions:
  show_env:
    argv: [/usr/bin/env]
    env: { APP_MODE: from-action-config }
  pass_through:
    argv: [/usr/bin/env]
    pass_env: [SSH_AUTH_SOCK, COPY_OF_KEY]
git_pull:
  repositories: [${JSON.stringify(repo)}]
  git: ${JSON.stringify(printEnv)}
docker_restart:
  containers: [web]
  docker: ${JSON.stringify(printEnv)}
  env: { DOCKER_SETTING: from-docker-config }
backup:
  recipients: [${JSON.stringify(recipient)}]
  identity_file: ${JSON.stringify(identityFile)}
  restore_enabled: true
  targets:
    dump_env:
      kind: command
      argv: [/usr/bin/env]
      restore_argv: [${JSON.stringify(restoreEnv)}]
      env: { DUMP_SETTING: from-target-config }
    app:
      kind: postgres
      url: ${JSON.stringify(pgUrl)}
      databases: [tether_sec_db]
      password_env: APP_DB_PASSWORD
      pg_dump: ${JSON.stringify(pgDump)}
    app_nopass:
      kind: postgres
      url: ${JSON.stringify(pgUrl)}
      databases: [tether_sec_db]
    shop:
      kind: mysql
      host: 127.0.0.1
      user: ${JSON.stringify(SHOP_USER)}
      databases: [${SHOP_DB}]
      password_env: SHOP_DB_PASSWORD
      dump: ${JSON.stringify(mariaDump)}
`,
    { mode: 0o600 },
  );
  agent = startAgent(
    agentEnv(hub, agentKey, join(dir.path, 'state'), {
      TETHER_CONFIG: config,
      APP_DB_PASSWORD: APP_PASSWORD,
      SHOP_DB_PASSWORD: SHOP_PASSWORD,
      AWS_ACCESS_KEY_ID: 'AKIDSECURITYTEST',
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      // libpq and the MariaDB client read these by themselves: set to working values, they would
      // authenticate a target that was given no password at all.
      PGPASSWORD: APP_PASSWORD,
      MYSQL_PWD: AMBIENT_MYSQL_PWD,
      COPY_OF_KEY: agentKey,
      SSH_AUTH_SOCK: '/run/test-ssh-agent.sock',
      DOCKER_HOST: 'unix:///run/test-docker.sock',
      LC_TIME: 'C.UTF-8',
    }),
  );
  await waitForAgent(hub, keyId);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await pg?.stop();
  if (mariadbReady) await maria(`drop user if exists '${SHOP_USER}'@'%'; drop database if exists ${SHOP_DB};`).catch(() => {});
  await dir?.remove();
});

async function ok(name: string, data: Record<string, unknown>, waitS = 60): Promise<any> {
  const answer = await command(hub, keyId, name, data, waitS);
  assert.equal(answer.body.result?.success, true, JSON.stringify(answer.body));
  return answer.body.result.data;
}

async function decrypt(artifactPath: string): Promise<string> {
  const plain = execFileSync('age', ['-d', '-i', identityFile, artifactPath], { maxBuffer: 64 << 20 });
  return execFileSync('zstd', ['-d', '-c'], { input: plain, maxBuffer: 64 << 20 }).toString('utf8');
}

test('an exec action running /usr/bin/env sees the base set and its own env:, not the key or any password', async () => {
  const shown = await ok('exec', { action: 'show_env' });
  assert.match(shown.stdout, /^PATH=/m);
  assert.match(shown.stdout, /^HOME=/m);
  assert.match(shown.stdout, /^LC_TIME=C\.UTF-8$/m);
  assert.match(shown.stdout, /^APP_MODE=from-action-config$/m);
  assertNoSecrets(shown.stdout, 'an exec action', secretsExcept());
  assert.doesNotMatch(shown.stdout, /^(PGPASSWORD|MYSQL_PWD|APP_DB_PASSWORD|SHOP_DB_PASSWORD|SSH_AUTH_SOCK|DOCKER_HOST)=/m);

  // pass_env passes what the config names, but never a variable that carries the agent key.
  const passed = await ok('exec', { action: 'pass_through' });
  assert.match(passed.stdout, /^SSH_AUTH_SOCK=\/run\/test-ssh-agent\.sock$/m);
  assert.doesNotMatch(passed.stdout, /^COPY_OF_KEY=/m);
  assertNoSecrets(passed.stdout, 'an exec action with pass_env', secretsExcept());
});

test('git and docker get their own settings (SSH agent, daemon address), never a secret', async () => {
  const git = await ok('git_pull', { repository_path: join(dir.path, 'repo') });
  assert.match(git.output, /^GIT_TERMINAL_PROMPT=0$/m);
  assert.match(git.output, /^SSH_AUTH_SOCK=/m);
  assert.doesNotMatch(git.output, /^DOCKER_HOST=/m);
  assertNoSecrets(git.output, 'git', secretsExcept());

  const docker = await ok('docker_restart', { container_name: 'web' });
  assert.match(docker.output, /^DOCKER_HOST=unix:\/\/\/run\/test-docker\.sock$/m);
  assert.match(docker.output, /^DOCKER_SETTING=from-docker-config$/m);
  assert.doesNotMatch(docker.output, /^SSH_AUTH_SOCK=/m);
  assertNoSecrets(docker.output, 'docker', secretsExcept());
});

test('a `command` target running env: the artifact uploaded to the hub holds no key and no password', async () => {
  const made = await ok('backup', { target: 'dump_env', destination: 'hub' }, 120);
  const dumped = await decrypt(join(hub.dataDir, 'artifacts', keyId, made.id));
  assert.match(dumped, /^DUMP_SETTING=from-target-config$/m);
  assert.match(dumped, /^PATH=/m);
  assertNoSecrets(dumped, 'a command target', secretsExcept());
  assert.doesNotMatch(dumped, /^(PGPASSWORD|MYSQL_PWD|APP_DB_PASSWORD|SHOP_DB_PASSWORD)=/m);

  // Its restore tool gets the same treatment.
  const local = await ok('backup', { target: 'dump_env' }, 120);
  await ok('restore', { id: local.id, target: 'dump_env' }, 120);
  const restoreEnv = await readFile(join(dir.path, 'restore.env'), 'utf8');
  assert.match(restoreEnv, /^DUMP_SETTING=from-target-config$/m);
  assertNoSecrets(restoreEnv, 'a restore tool', secretsExcept());
});

test("pg_dump gets its own target's password (a server that checks it) and nothing else", async (t) => {
  if (!pg) return t.skip('no PostgreSQL server binaries');
  const made = await ok('backup', { target: 'app' }, 120);
  const dumped = await decrypt(made.location.replace(/^local:/, ''));
  assert.match(dumped, /dumped with its own password/);
  const env = await readFile(join(dir.path, 'pg_dump.env'), 'utf8');
  assert.match(env, new RegExp(`^PGPASSWORD=${APP_PASSWORD}$`, 'm'));
  assertNoSecrets(env, 'pg_dump', secretsExcept('app_password'));

  // A target with no password of its own does not get the one in the agent's environment.
  const refused = await command(hub, keyId, 'backup', { target: 'app_nopass' }, 120);
  assert.equal(refused.body.result?.success, false, JSON.stringify(refused.body));
  assert.match(refused.body.result.error, /no password supplied|password authentication failed/);
});

test('mariadb-dump gets its password only through its option file, and no other secret', async (t) => {
  if (!mariadbReady) return t.skip('no MariaDB');
  const made = await ok('backup', { target: 'shop' }, 120);
  assert.match(await decrypt(made.location.replace(/^local:/, '')), /dumped through an option file/);
  const env = await readFile(join(dir.path, 'mariadb-dump.env'), 'utf8');
  assert.match(env, /^PATH=/m);
  assertNoSecrets(env, 'mariadb-dump', secretsExcept());
  assert.doesNotMatch(env, /^MYSQL_PWD=/m);
});
