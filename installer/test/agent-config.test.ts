// agent.yaml as an install writes it: the values it knows, everything else the operator put there kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeAgentConfig } from '../src/agent-config.ts';

const SIGNING_KEY = Buffer.alloc(32, 7).toString('base64');
const values = { server: "wss://hub.example.com/it's", apiKey: 'tk_secret-key-123', stateDir: '/opt/tether/state', allow: ['ping', 'info'], signingKey: SIGNING_KEY };

async function tempFile(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-agent-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'agent.yaml');
}

test('a new config: quoted values, the policy, the pinned signing key, mode 0600', async (t) => {
  const path = await tempFile(t);
  const written = await writeAgentConfig(path, values, undefined);
  assert.deepEqual(written, { created: true, replacedSigningKey: null });
  const text = await readFile(path, 'utf8');
  for (const line of ["server_url: 'wss://hub.example.com/it''s'", "api_key: 'tk_secret-key-123'", "state_dir: '/opt/tether/state'", 'allow: [ping, info]', `  public_key: '${SIGNING_KEY}'`]) {
    assert.ok(text.split('\n').includes(line), `missing line ${line} in:\n${text}`);
  }
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(parse(text).signing, { public_key: SIGNING_KEY });
});

test('a re-install keeps what the operator added and the policy unless --allow is given', async (t) => {
  const path = await tempFile(t);
  await writeFile(
    path,
    "# mine\nserver_url: 'ws://old'\napi_key: old-key-12345\nallow: [ping]\nbackup:\n  targets:\n    - name: etc\n      kind: files\n      paths: [/etc]\nsigning:\n  public_key: 'AAAA'\n",
  );
  const written = await writeAgentConfig(path, { ...values, allow: null }, undefined);
  assert.equal(written.created, false);
  assert.equal(written.replacedSigningKey, 'AAAA');
  const config = parse(await readFile(path, 'utf8'));
  assert.deepEqual(config.allow, ['ping']);
  assert.deepEqual(config.backup, { targets: [{ name: 'etc', kind: 'files', paths: ['/etc'] }] });
  assert.equal(config.api_key, 'tk_secret-key-123');
  assert.match(await readFile(path, 'utf8'), /^# mine/);
});

test('a config that is not YAML is refused naming the line only, never its content (it may hold the key)', async (t) => {
  const path = await tempFile(t);
  await writeFile(path, "server_url: 'ws://x'\napi_key: 'tk_do-not-print-me\n");
  await assert.rejects(writeAgentConfig(path, values, undefined), (error: Error) => {
    assert.match(error.message, /is not valid YAML \(line \d+\): fix it or move it away/);
    assert.doesNotMatch(error.message, /do-not-print-me/);
    return true;
  });
  await writeFile(path, '- a\n- list\n');
  await assert.rejects(writeAgentConfig(path, values, undefined), /must be a YAML mapping/);
});
