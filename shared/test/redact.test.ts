// The masking rules (shared/src/redact.ts) every printed config, URL and log line goes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSecretName, maskDeep, maskText, secretValuesIn, secretValuesInEnv } from '../src/redact.ts';

test('secret names: keys, passwords, tokens; not where a secret lives, not public keys, not PWD', () => {
  for (const name of [
    'api_key',
    'apiKey',
    'TETHER_API_KEY',
    'PGPASSWORD',
    'MYSQL_PWD',
    'AWS_SECRET_ACCESS_KEY',
    'GITHUB_TOKEN',
    'DB_PASS',
    'client_secret',
    'password',
    'SSH_KEY',
    'key',
    'authorization',
    'SENTRY_DSN',
    'identity',
  ]) {
    assert.equal(isSecretName(name), true, name);
  }
  for (const name of [
    'password_env',
    'password_file',
    'identity_file',
    'key_id',
    'agent_key_id',
    'key_prefix',
    'key_in_query',
    'public_key',
    'signing_key',
    'PWD',
    'OLDPWD',
    'LANG',
    'SSH_AUTH_SOCK',
    'pass_env',
    'keepalive',
    'monkey',
  ]) {
    assert.equal(isSecretName(name), false, name);
  }
});

test('patterns: URL passwords and web userinfo, secret query parameters, NAME=value, Bearer', () => {
  const cases: Array<[string, string]> = [
    ['postgres://backup:hunter2@db:5432/app', 'postgres://backup:[redacted]@db:5432/app'],
    ['mysql://root:p@ss@db/x', 'mysql://root:[redacted]@db/x'],
    ['redis://:cachepw@cache:6379', 'redis://:[redacted]@cache:6379'],
    ['postgres://backup@db:5432', 'postgres://backup@db:5432'],
    ['https://ghp_abcdefabcdef@github.com/o/r.git', 'https://[redacted]@github.com/o/r.git'],
    ['wss://u:pw@hub/ws/agent?api_key=tk_1&x=1', 'wss://u:[redacted]@hub/ws/agent?api_key=[redacted]&x=1'],
    ['GET /x?token=abc&key=def&sig=ghi&page=2', 'GET /x?token=[redacted]&key=[redacted]&sig=[redacted]&page=2'],
    ['https://b.s3/o?X-Amz-Credential=AKIA%2F&X-Amz-Signature=beef&X-Amz-Security-Token=t', 'https://b.s3/o?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Security-Token=[redacted]'],
    ['PGPASSWORD=a1 MYSQL_PWD=b2 AWS_SECRET_ACCESS_KEY=c/3+= LANG=C PWD=/srv', 'PGPASSWORD=[redacted] MYSQL_PWD=[redacted] AWS_SECRET_ACCESS_KEY=[redacted] LANG=C PWD=/srv'],
    ['mysqldump --password=x1 --user=bob', 'mysqldump --password=[redacted] --user=bob'],
    ['host=db password=libpq dbname=app', 'host=db password=[redacted] dbname=app'],
    ['authorization: Bearer eyJ.abc-def_1==', 'authorization: Bearer [redacted]'],
    ['mail admin@example.com at 10:30', 'mail admin@example.com at 10:30'],
  ];
  for (const [input, expected] of cases) assert.equal(maskText(input), expected, input);
});

test('values: every known secret (and its URL-encoded form) wherever it appears; short ones left alone', () => {
  assert.equal(maskText('key tk_abc/def+1 and tk_abc%2Fdef%2B1', ['tk_abc/def+1']), 'key [redacted] and [redacted]');
  assert.equal(maskText('a b c', ['b']), 'a b c');
});

test('maskDeep: secret-named fields masked at any depth, strings masked, dates and URLs kept readable', () => {
  const at = new Date('2026-01-02T03:04:05Z');
  const masked = maskDeep(
    { env: { PGPASSWORD: 'x', LANG: 'C' }, deep: { a: { b: { c: { token: 't' } } } }, url: new URL('https://u:p@h/'), at, flag: { password: true }, list: ['ok secretvalue'] },
    { secrets: ['secretvalue'] },
  );
  assert.deepEqual(masked, {
    env: { PGPASSWORD: '[redacted]', LANG: 'C' },
    deep: { a: { b: { c: { token: '[redacted]' } } } },
    url: 'https://u:[redacted]@h/',
    at: at.toJSON(),
    flag: { password: true },
    list: ['ok [redacted]'],
  });
  assert.deepEqual(maskDeep({ token: 't' }, { byName: false }), { token: 't' });
});

test('secret values found in a config: secret-named strings, URL passwords (raw and decoded), secret env', () => {
  assert.deepEqual(secretValuesIn({ url: 'postgres://u:p%40ss@h', env: { DB_TOKEN: 'tokval', LANG: 'C' }, list: [{ api_key: 'k' }] }).sort(), ['k', 'p%40ss', 'p@ss', 'tokval']);
  assert.deepEqual(secretValuesInEnv({ TETHER_API_KEY: 'tk', PATH: '/bin', SHOP_DB_PASSWORD: 'pw', EMPTY_TOKEN: '' }).sort(), ['pw', 'tk']);
});
