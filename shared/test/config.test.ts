import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../src/config/agent-config.ts';
import { ConfigError } from '../src/config/config-error.ts';

const base = { TETHER_SERVER_URL: 'wss://hub.example.com', TETHER_API_KEY: 'tak_abcdefghijklmnop', TETHER_STATE_DIR: '/tmp/x', TETHER_CONFIG: '' };

test('environment settings load with defaults', () => {
  const { config } = loadAgentConfig(base);
  assert.equal(config.server_url, 'wss://hub.example.com');
  assert.deepEqual(config.allow, ['ping', 'echo', 'info', 'metrics', 'capabilities']);
  assert.equal(config.transport.force_http, false);
});

test('micro-hack aliases are accepted', () => {
  const { config } = loadAgentConfig({ MICROHACK_SERVER_URL: 'ws://h:8000', MICROHACK_API_KEY: 'mh-key-123456', MICROHACK_FORCE_HTTP: '1', TETHER_STATE_DIR: '/tmp/x', TETHER_CONFIG: '' });
  assert.equal(config.server_url, 'ws://h:8000');
  assert.equal(config.api_key, 'mh-key-123456');
  assert.equal(config.transport.force_http, true);
});

test('errors name the field, its source and the fix', () => {
  assert.throws(
    () => loadAgentConfig({ ...base, TETHER_SERVER_URL: 'ftp://x' }),
    (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /server_url \(env TETHER_SERVER_URL\): must be a URL starting with ws:\/\//);
      return true;
    },
  );
  assert.throws(() => loadAgentConfig({ TETHER_STATE_DIR: '/tmp/x', TETHER_CONFIG: '' }), /api_key: missing; set TETHER_API_KEY/);
});

test('the YAML file is read, the environment wins, bad YAML and bad types are reported', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-config-'));
  try {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, 'server_url: wss://from-file\napi_key: tak_fromfile12345\nallow: [ping]\n');
    const { config, configPath } = loadAgentConfig({ TETHER_CONFIG: file, TETHER_SERVER_URL: 'wss://from-env', TETHER_STATE_DIR: dir });
    assert.equal(configPath, file);
    assert.equal(config.server_url, 'wss://from-env');
    assert.deepEqual(config.allow, ['ping']);

    await writeFile(file, 'server_url: [unclosed\n');
    assert.throws(() => loadAgentConfig({ TETHER_CONFIG: file }), /not valid YAML/);
    await writeFile(file, 'server_url: wss://x\napi_key: tak_fromfile12345\nheartbeat_interval_s: fast\n');
    assert.throws(() => loadAgentConfig({ TETHER_CONFIG: file, TETHER_STATE_DIR: dir }), /heartbeat_interval_s \(config file .*\): /);
    assert.throws(() => loadAgentConfig({ TETHER_CONFIG: join(dir, 'missing.yaml') }), /cannot read config file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
