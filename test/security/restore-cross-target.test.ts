// Issue 9 item 7: an artifact restores only into the target it was made from. Attacked with a
// real hub and a real agent holding two sqlite targets of the same kind: the hub asks to restore
// target "ledger"'s artifact into target "accounts". It is refused (permission_denied) and the
// accounts database keeps its own rows; restoring the artifact into its own target still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let keyId: string;
let ledgerDb: string;
let accountsDb: string;

function makeDb(path: string, note: string): void {
  const db = new (loadSqlite().DatabaseSync)(path);
  db.exec(`create table notes (id integer primary key, note text); insert into notes (note) values ('${note}');`);
  db.close();
}

function notes(path: string): string[] {
  const db = new (loadSqlite().DatabaseSync)(path, { readOnly: true });
  try {
    return (db.prepare('select note from notes order by id').all() as Array<{ note: string }>).map((row) => row.note);
  } finally {
    db.close();
  }
}

before(async () => {
  dir = await tempDir('security-restore-cross');
  const identity = join(dir.path, 'identity.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  ledgerDb = join(dir.path, 'ledger.db');
  accountsDb = join(dir.path, 'accounts.db');
  makeDb(ledgerDb, 'ledger row');
  makeDb(accountsDb, 'accounts row');
  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  const key = await hub.createKey('two-targets', ['ping', 'backup', 'backup_read', 'restore']);
  keyId = key.id;
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    [
      'allow: [ping, backup, backup_read, restore]',
      'backup:',
      `  recipients: [${JSON.stringify(recipient)}]`,
      `  identity_file: ${JSON.stringify(identity)}`,
      '  restore_enabled: true',
      '  targets:',
      `    ledger: { kind: sqlite, path: ${JSON.stringify(ledgerDb)} }`,
      `    accounts: { kind: sqlite, path: ${JSON.stringify(accountsDb)} }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  agent = startAgent(agentEnv(hub, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config }));
  await waitForAgent(hub, keyId);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await dir?.remove();
});

test("restoring target ledger's artifact into target accounts (same kind) is refused and writes nothing", async () => {
  const made = await command(hub, keyId, 'backup', { target: 'ledger' }, 60);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const id = made.body.result.data.id as string;

  const refused = await command(hub, keyId, 'restore', { id, target: 'accounts' }, 60);
  assert.equal(refused.body.result?.success, false, JSON.stringify(refused.body));
  assert.equal(refused.body.result.error_code, 'permission_denied');
  assert.match(refused.body.result.error, /was made from target ledger, not accounts/);
  assert.deepEqual(notes(accountsDb), ['accounts row'], 'the other target is untouched');

  // The same artifact into its own target is allowed (the refusal is about the target, not restore).
  const own = await command(hub, keyId, 'restore', { id, target: 'ledger' }, 60);
  assert.equal(own.body.result?.success, true, JSON.stringify(own.body));
  assert.deepEqual(notes(ledgerDb), ['ledger row']);
});
