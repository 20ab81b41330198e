// Alert settings: flags win over the environment, which wins over <data-dir>/alerts.json, field by
// field; a file holding the secret must be 0600; errors name the field, never the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAlertSettings } from '../../src/alerts/alert-settings.ts';
import { signature } from '../../src/alerts/alert-webhook.ts';

const SECRET = 'file-secret-0123456789abcdef';

test('alert settings: off without a URL, then flag > env > file per field, validated', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-alert-settings-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await loadAlertSettings({}, dir, {}), null);
  await assert.rejects(loadAlertSettings({ alertOfflineAfterS: 5 }, dir, {}), /without a webhook URL/);

  const file = join(dir, 'alerts.json');
  await writeFile(file, JSON.stringify({ webhook_url: 'https://file.example/hook', secret: SECRET, offline_after_s: 300 }), { mode: 0o644 });
  await chmod(file, 0o644);
  await assert.rejects(loadAlertSettings({}, dir, {}), /holds the alert webhook secret and must not be readable by others: chmod 600/);
  await chmod(file, 0o600);
  assert.deepEqual(await loadAlertSettings({}, dir, {}), { webhook_url: 'https://file.example/hook', secret: SECRET, offline_after_s: 300, check_interval_s: 15, max_attempts: 6 });

  const env = { TETHER_ALERT_WEBHOOK_URL: 'https://env.example/hook', TETHER_ALERT_WEBHOOK_SECRET: 'env-secret-0123456789abcdef' };
  const fromEnv = await loadAlertSettings({}, dir, env);
  assert.equal(fromEnv?.webhook_url, 'https://env.example/hook');
  assert.equal(fromEnv?.secret, 'env-secret-0123456789abcdef');
  assert.equal(fromEnv?.offline_after_s, 300, 'what the environment does not give comes from the file');

  const fromFlags = await loadAlertSettings({ alertWebhook: 'http://127.0.0.1:9/flag', alertOfflineAfterS: 2, alertCheckS: 0.5 }, dir, env);
  assert.deepEqual({ url: fromFlags?.webhook_url, offline: fromFlags?.offline_after_s, check: fromFlags?.check_interval_s }, { url: 'http://127.0.0.1:9/flag', offline: 2, check: 0.5 });

  await assert.rejects(loadAlertSettings({ alertWebhook: 'ftp://x.example/' }, dir, {}), /must be an http\(s\) URL/);
  const short = loadAlertSettings({}, dir, { ...env, TETHER_ALERT_WEBHOOK_SECRET: 'tiny-secret' });
  await assert.rejects(short, (error: Error) => /at least 16 characters/.test(error.message) && !error.message.includes('tiny-secret'));
  await assert.rejects(loadAlertSettings({ alertOfflineAfterS: 1.5 }, dir, env), /offline_after_s is a whole number/);
  await writeFile(file, '{ not json', { mode: 0o600 });
  await assert.rejects(loadAlertSettings({}, dir, {}), /alerts\.json is not valid JSON/);
});

test('the signature is HMAC-SHA256 over "<timestamp>.<body>" (a vector from openssl)', () => {
  // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'key-0123456789abcdef'
  assert.equal(signature('key-0123456789abcdef', '1700000000', '{"a":1}'), 'sha256=8a091117e0b1ccf5034d0d8c06ab42b29a4451a72f95b56f22afaf6bfb7af0d3');
});
