// childEnv: what a child process of the agent may see (shared/src/child-env.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childEnv, withholdFromChildren } from '../src/child-env.ts';

const parent = {
  PATH: '/usr/bin:/bin',
  HOME: '/var/lib/tether',
  USER: 'tether',
  LANG: 'C.UTF-8',
  LC_ALL: 'C',
  TZ: 'UTC',
  TMPDIR: '/tmp',
  TETHER_API_KEY: 'tk_live_0123456789abcdef',
  TETHER_STATE_DIR: '/var/lib/tether',
  MICROHACK_API_KEY: 'mh_0123456789abcdef',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  AWS_PROFILE: 'prod',
  PGPASSWORD: 'pg-ambient',
  PGHOST: '/run/postgresql',
  MYSQL_PWD: 'my-ambient',
  SHOP_DB_PASSWORD: 'shop',
  SSH_AUTH_SOCK: '/run/ssh.sock',
  DOCKER_HOST: 'unix:///run/docker.sock',
  NODE_OPTIONS: '--require /x.js',
  KEY_COPY: 'prefix-tk_live_0123456789abcdef',
};

test('the base set only, by default: no key, no AWS_*, no database password, no NODE_OPTIONS', () => {
  assert.deepEqual(childEnv({ parent }), { PATH: '/usr/bin:/bin', HOME: '/var/lib/tether', USER: 'tether', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', TMPDIR: '/tmp' });
});

test('a tool kind adds its own settings, never a password', () => {
  const pg = childEnv({ parent, tool: 'postgres' });
  assert.equal(pg.PGHOST, '/run/postgresql');
  assert.equal(pg.PGPASSWORD, undefined);
  assert.equal(childEnv({ parent, tool: 'git' }).SSH_AUTH_SOCK, '/run/ssh.sock');
  assert.equal(childEnv({ parent, tool: 'docker' }).DOCKER_HOST, 'unix:///run/docker.sock');
  assert.equal(childEnv({ parent, tool: 'mysql' }).MYSQL_PWD, undefined);
});

test("what the child's config sets or names is passed, except the agent key under any name", () => {
  const env = childEnv({ parent, pass: ['AWS_PROFILE', 'TETHER_API_KEY', 'KEY_COPY', 'UNSET_ONE'], set: { PGPASSWORD: 'its-own', MICROHACK_API_KEY: 'x', PATH: '/opt/bin' } });
  assert.equal(env.AWS_PROFILE, 'prod');
  assert.equal(env.PGPASSWORD, 'its-own');
  assert.equal(env.PATH, '/opt/bin');
  for (const name of ['TETHER_API_KEY', 'MICROHACK_API_KEY', 'KEY_COPY', 'UNSET_ONE']) assert.equal(env[name], undefined, name);
});

test('a key configured in the file (not the environment) is withheld by value once registered', () => {
  const fileKey = 'tk_from_config_file_0123456789';
  assert.equal(childEnv({ parent: {}, set: { TOKEN: fileKey } }).TOKEN, fileKey);
  withholdFromChildren(fileKey);
  assert.equal(childEnv({ parent: {}, set: { TOKEN: fileKey } }).TOKEN, undefined);
});
