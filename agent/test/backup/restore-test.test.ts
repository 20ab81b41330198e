// Restore tests (backup_verify {restore: true}) against real PostgreSQL, MariaDB, SQLite and the
// real age CLI: a good artifact passes with its row counts and check query; a truncated artifact,
// a valid but empty dump (check query fails), a PostgreSQL dump whose owner role the server lacks,
// and a files artifact with one changed file fail with the reason. Scratch databases and
// directories are gone afterwards, pass or fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { harness, run, requireServices, artifactPathOf } from './helpers.ts';
import type { Harness } from './helpers.ts';

const suffix = `${process.pid}_${Date.now()}`;
let h: Harness;
let identityFile: string;
let recipient: string;
let scratchDir: string;

const psql = (database: string, sql: string) => run('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-c', sql]);
const maria = (sql: string) => run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', '--skip-column-names', '-e', sql]);

async function reachable(argv: string[], what: string): Promise<boolean> {
  try {
    await run(argv[0]!, argv.slice(1), { timeout: 15_000 });
    return true;
  } catch {
    const line = `SKIP: ${what} is not reachable; start it or set TETHER_REQUIRE_SERVICES=1 to fail`;
    if (requireServices()) throw new Error(line);
    console.error(`\n!!! ${line}\n`);
    return false;
  }
}

before(async () => {
  h = await harness();
  // The real age CLI makes the key pair; the agent encrypts to its recipient.
  identityFile = join(h.dir, 'age-identity.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();
  scratchDir = join(h.dir, 'scratch');
  await mkdir(scratchDir);
});
after(() => h.cleanup());

function commandsFor(targets: Record<string, unknown>) {
  return h.commands({ recipients: [recipient], identity_file: identityFile, scratch: { dir: scratchDir }, targets });
}

async function backupAndVerify(commands: ReturnType<typeof commandsFor>, target: string) {
  const made = await h.call(commands, 'backup', { target });
  const verified = await h.call(commands, 'backup_verify', { id: made.id, restore: true });
  return { made, verified: verified as Record<string, any> };
}

async function leftoverDatabases(): Promise<{ pg: string; maria: string }> {
  const pg = (await psql('postgres', "select string_agg(datname, ',') from pg_database where datname like 'tether_verify_%'").catch(() => ({ stdout: '' }))).stdout.trim();
  const mdb = (await maria("select group_concat(schema_name) from information_schema.schemata where schema_name like 'tether\\_verify\\_%'").catch(() => ({ stdout: '' }))).stdout.trim();
  return { pg, maria: mdb === 'NULL' ? '' : mdb };
}

/** Re-encrypts an artifact whose plain content `change` rewrote, and fixes its manifest up. */
async function remakeArtifact(result: Record<string, unknown>, change: (plain: Buffer) => Buffer): Promise<void> {
  const path = artifactPathOf(result);
  const plain = execFileSync('zstd', ['-d', '-c'], { input: execFileSync('age', ['-d', '-i', identityFile, path], { maxBuffer: 256 << 20 }), maxBuffer: 256 << 20 });
  const remade = execFileSync('age', ['-r', recipient], { input: execFileSync('zstd', ['-1', '-c'], { input: change(plain), maxBuffer: 256 << 20 }), maxBuffer: 256 << 20 });
  await writeFile(path, remade);
  await rewriteManifest(result, remade);
}

async function rewriteManifest(result: Record<string, unknown>, bytes: Buffer): Promise<void> {
  const manifestPath = `${artifactPathOf(result).replace(/\.[^/]*$/, '')}.json`;
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.size = bytes.length;
  await writeFile(manifestPath, JSON.stringify(manifest));
}

test('postgres: a plain and a custom dump restore into a scratch database; counts and check query pass', async (t) => {
  if (!(await reachable(['pg_isready', '-h', '127.0.0.1', '-p', '5432'], 'PostgreSQL at 127.0.0.1:5432'))) return t.skip('no PostgreSQL');
  const db = `tether_rt_ok_${suffix}`;
  await psql('postgres', `create database ${db}`);
  t.after(() => psql('postgres', `drop database if exists ${db}`).catch(() => {}));
  await psql(
    db,
    `create table orders (id serial primary key, item text, note text);
    insert into orders (item, note) select 'item ' || g, E'line\\nbreak and a tab\\t and \\\\. too' from generate_series(1, 5000) g;
    create schema "Sales Dept"; create table "Sales Dept"."Big ""Deals""" (id int); insert into "Sales Dept"."Big ""Deals""" select generate_series(1, 7);
    create table empty_one (id int);`,
  );
  for (const format of ['plain', 'custom'] as const) {
    const commands = commandsFor({ pg: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432', databases: [db], format, verify: { sql: 'select count(*) from orders' } } });
    const { made, verified } = await backupAndVerify(commands, 'pg');
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.deepEqual(verified.problems, []);
    assert.ok(
      verified.checked.some((line: string) => /^restored into a scratch PostgreSQL database/.test(line)),
      JSON.stringify(verified.checked),
    );
    assert.ok(verified.checked.includes('check query returned 5000: select count(*) from orders'), JSON.stringify(verified.checked));
    assert.equal(typeof verified.duration_ms, 'number');
    if (format === 'plain') {
      assert.ok(verified.checked.includes('row counts of 3 tables match the backup (5007 rows)'), JSON.stringify(verified.checked));
      const listed = (await h.call(commands, 'backup_list', { target: 'pg' })) as { artifacts: Array<Record<string, any>> };
      const entry = listed.artifacts.find((artifact) => artifact.id === made.id)!;
      assert.deepEqual(entry.checks.row_counts, { 'public.orders': 5000, 'Sales Dept.Big "Deals"': 7, 'public.empty_one': 0 });
      assert.equal(entry.last_verify.ok, true);
    }
  }
  assert.deepEqual(await leftoverDatabases(), { pg: '', maria: '' });
});

test('postgres: truncated artifact, empty dump (check query fails), missing owner role: each fails and says why', async (t) => {
  if (!(await reachable(['pg_isready', '-h', '127.0.0.1', '-p', '5432'], 'PostgreSQL at 127.0.0.1:5432'))) return t.skip('no PostgreSQL');
  const db = `tether_rt_bad_${suffix}`;
  const role = `tether_rt_role_${suffix}`;
  await psql('postgres', `create database ${db}`);
  t.after(async () => {
    await psql('postgres', `drop database if exists ${db}`).catch(() => {});
    await psql('postgres', `drop role if exists ${role}`).catch(() => {});
  });
  await psql(db, 'create table orders (id int primary key, item text)');
  const commands = commandsFor({ pg: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432', databases: [db], verify: { sql: 'select count(*) from orders' } } });

  // A valid dump of an empty table: it restores, the check query says 0.
  const empty = await backupAndVerify(commands, 'pg');
  assert.equal(empty.verified.ok, false);
  assert.deepEqual(empty.verified.problems, ['check query must return a number > 0, returned "0": select count(*) from orders']);
  assert.ok(empty.verified.checked.some((line: string) => line.startsWith('restored into a scratch PostgreSQL database')));

  // Truncated: caught by the sha256; with a manifest that matches the cut bytes, by the decryption.
  await psql(db, "insert into orders select g, 'x' from generate_series(1, 2000) g");
  const cut = await h.call(commands, 'backup', { target: 'pg' });
  const path = artifactPathOf(cut);
  await truncate(path, Math.floor((await stat(path)).size / 2));
  const truncated = (await h.call(commands, 'backup_verify', { id: cut.id, restore: true })) as Record<string, any>;
  assert.equal(truncated.ok, false);
  assert.match(truncated.problems.join('\n'), /artifact: size is \d+ bytes, manifest says \d+/);
  await rewriteManifest(cut, await readFile(path));
  const cutButListed = (await h.call(commands, 'backup_verify', { id: cut.id, restore: true })) as Record<string, any>;
  assert.equal(cutButListed.ok, false);
  assert.match(cutButListed.problems.join('\n'), /restore into a scratch database failed: .*(age|truncated|chunk|unexpected end)/i);

  // Owned by a role that the server no longer has when the test runs.
  await psql('postgres', `create role ${role}`);
  await psql(db, `alter table orders owner to ${role}`);
  const owned = await h.call(commands, 'backup', { target: 'pg' });
  await psql('postgres', `drop database ${db}`);
  await psql('postgres', `drop role ${role}`);
  const missingRole = (await h.call(commands, 'backup_verify', { id: owned.id, restore: true })) as Record<string, any>;
  assert.equal(missingRole.ok, false);
  assert.match(missingRole.problems.join('\n'), new RegExp(`restore into a scratch database failed: .*role "${role}" does not exist`));
  assert.deepEqual(await leftoverDatabases(), { pg: '', maria: '' });
});

test('mariadb: restore into a scratch database with counts and check query; an empty table fails the query', async (t) => {
  if (!(await reachable(['mariadb', '-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-e', 'select 1'], 'MariaDB at 127.0.0.1:3306'))) return t.skip('no MariaDB');
  const db = `tether_rt_${suffix}`;
  await maria(`create database ${db}`);
  t.after(() => maria(`drop database if exists ${db}`).catch(() => {}));
  await maria(`use ${db}; create table items (id int primary key, name text, blobby blob);
    insert into items select seq, concat('it''s (', seq, '), "quoted"'), unhex(md5(seq)) from seq_1_to_3000;
    create table \`odd\`\`name\` (id int); insert into \`odd\`\`name\` values (1), (2); create table nothing (id int);`);
  const commands = commandsFor({ shop: { kind: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', databases: [db], verify: { sql: 'select count(*) from items' } } });
  const good = await backupAndVerify(commands, 'shop');
  assert.equal(good.verified.ok, true, JSON.stringify(good.verified));
  assert.ok(good.verified.checked.includes('row counts of 3 tables match the backup (3002 rows)'), JSON.stringify(good.verified.checked));
  assert.ok(good.verified.checked.includes('check query returned 3000: select count(*) from items'));

  await maria(`delete from ${db}.items`);
  const empty = await backupAndVerify(commands, 'shop');
  assert.equal(empty.verified.ok, false);
  assert.deepEqual(empty.verified.problems, ['check query must return a number > 0, returned "0": select count(*) from items']);
  assert.deepEqual(await leftoverDatabases(), { pg: '', maria: '' });
});

test('sqlite: integrity_check, row counts and check query on a scratch copy', async () => {
  const path = join(h.dir, 'notes.db');
  const db = new DatabaseSync(path);
  db.exec("create table notes (id integer primary key, body text); insert into notes (body) values ('a'), ('b'), ('c'); create table tags (name text);");
  db.close();
  const commands = commandsFor({ notes: { kind: 'sqlite', path, verify: { sql: 'select count(*) from notes' } } });
  const { verified } = await backupAndVerify(commands, 'notes');
  assert.equal(verified.ok, true, JSON.stringify(verified));
  assert.deepEqual(verified.checked.slice(1), ['PRAGMA integrity_check: ok', 'check query returned 3: select count(*) from notes', 'row counts of 2 tables match the backup (3 rows)']);
  assert.deepEqual(await readdir(scratchDir), []);
});

test('files: every file is compared with the sha256 list; one changed file is named', async () => {
  const root = join(h.dir, 'site');
  await mkdir(join(root, 'docs'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<h1>hello</h1>');
  await writeFile(join(root, 'docs', 'guide.txt'), 'the original guide text');
  await writeFile(join(root, 'docs', 'ünïcode näme.txt'), 'odd name');
  const commands = commandsFor({ site: { kind: 'files', roots: [root] } });
  const good = await backupAndVerify(commands, 'site');
  assert.equal(good.verified.ok, true, JSON.stringify(good.verified));
  assert.ok(good.verified.checked.includes('sha256 of all 3 files match the list made at backup time'), JSON.stringify(good.verified.checked));

  // The archive's bytes for guide.txt change (same length), the list inside does not.
  await remakeArtifact(good.made, (plain) => {
    const at = plain.indexOf('the original guide text');
    assert.ok(at > 0);
    plain.write('the altered! guide text', at, 'latin1');
    return plain;
  });
  const changed = (await h.call(commands, 'backup_verify', { id: good.made.id, restore: true })) as Record<string, any>;
  assert.equal(changed.ok, false);
  assert.deepEqual(changed.problems, [`1 file differ from the sha256 recorded at backup time: ${root}/docs/guide.txt`]);
  assert.deepEqual(await readdir(scratchDir), []);
});

test('a host without the age identity refuses to restore-test an encrypted artifact', async () => {
  const root = join(h.dir, 'plain-root');
  await mkdir(root);
  await writeFile(join(root, 'a'), 'a');
  const commands = h.commands({ recipients: [recipient], targets: { t: { kind: 'files', roots: [root] } } });
  const made = await h.call(commands, 'backup', { target: 't' });
  const verified = (await h.call(commands, 'backup_verify', { id: made.id, restore: true })) as Record<string, any>;
  assert.equal(verified.ok, false);
  assert.match(verified.problems[0], /no backup.identity_file/);
});
