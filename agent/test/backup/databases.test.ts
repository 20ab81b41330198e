// Round trips through real PostgreSQL, MariaDB and SQLite: back up, restore into a new database,
// compare row counts and checksums; decrypt each artifact with the real age CLI + zstd.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { harness, decryptWithCli, run, requireServices, artifactPathOf } from './helpers.ts';

const h = await harness();
after(() => h.cleanup());
const suffix = `${process.pid}_${Date.now()}`;

async function available(argv: string[], what: string): Promise<boolean> {
  try {
    await run(argv[0]!, argv.slice(1), { timeout: 15_000 });
    return true;
  } catch {
    const line = `SKIP: ${what} is not reachable; install and start it (see docs/backup.md) or set TETHER_REQUIRE_SERVICES=1 to fail`;
    if (requireServices()) throw new Error(line);
    console.error(`\n!!! ${line}\n`);
    return false;
  }
}

const psql = (database: string, sql: string) => run('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-c', sql], { maxBuffer: 64 << 20 });

test('postgres: backup, restore into a new database, same counts and checksums; missing database fails cleanly', async (t) => {
  if (!(await available(['pg_isready', '-h', '127.0.0.1', '-p', '5432'], 'PostgreSQL at 127.0.0.1:5432'))) return t.skip('no PostgreSQL');
  const source = `tether_src_${suffix}`;
  const restored = `tether_dst_${suffix}`;
  await psql('postgres', `create database ${source}`);
  await psql('postgres', `create database ${restored}`);
  t.after(async () => {
    await psql('postgres', `drop database if exists ${source}`).catch(() => {});
    await psql('postgres', `drop database if exists ${restored}`).catch(() => {});
  });
  await psql(
    source,
    `
    create table people (id serial primary key, name text, born date, score numeric(10,3), tags text[], meta jsonb, photo bytea);
    insert into people (name, born, score, tags, meta, photo)
      select 'név ' || g, date '1970-01-01' + g % 20000, g * 1.125, array['a' || g, 'b'], jsonb_build_object('g', g), decode(md5(g::text), 'hex')
      from generate_series(1, 40000) g;
    create table events (id bigint primary key, at timestamptz, payload text);
    insert into events select g, now() - g * interval '1 minute', repeat(md5(g::text), 4) from generate_series(1, 20000) g;`,
  );
  const checksum = (db: string) =>
    psql(
      db,
      `select (select count(*) from people) || ':' || (select md5(string_agg(people::text, ',' order by id)) from people) || ':' || (select md5(string_agg(events::text, ',' order by id)) from events)`,
    );

  for (const format of ['plain', 'custom'] as const) {
    await psql(restored, 'drop table if exists people, events');
    const commands = h.commands({
      recipients: [h.recipient],
      identity_file: h.identityFile,
      restore_enabled: true,
      targets: { pg: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432', databases: [source], format, restore_database: restored } },
    });
    const result = await h.call(commands, 'backup', { target: 'pg' });
    const plain = join(h.dir, `pg-${format}.out`);
    await decryptWithCli(artifactPathOf(result), h.identityFile, plain);
    const head = (await readFile(plain)).subarray(0, 5).toString('latin1');
    if (format === 'custom') assert.equal(head, 'PGDMP');
    else assert.match((await readFile(plain, 'utf8')).slice(0, 2000), /PostgreSQL database dump/);
    await h.call(commands, 'restore', { id: result.id, target: 'pg' });
    assert.equal((await checksum(restored)).stdout, (await checksum(source)).stdout);
  }

  const failing = h.commands({ recipients: [h.recipient], targets: { gone: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432', databases: [`tether_missing_${suffix}`] } } });
  await assert.rejects(h.call(failing, 'backup', { target: 'gone' }), /pg_dump failed.*does not exist/s);
  assert.deepEqual((await h.call(failing, 'backup_list', { target: 'gone' })).artifacts, []);
  assert.deepEqual(await readdir(join(h.dir, 'state', 'backups', 'gone')), []);
});

const maria = (args: string[], input?: string) =>
  run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', '--skip-column-names', ...args], { maxBuffer: 64 << 20, ...(input ? { input } : {}) } as never);

test('mysql: mariadb-dump --single-transaction round trip into a new database', async (t) => {
  if (!(await available(['mariadb', '-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-e', 'select 1'], 'MariaDB at 127.0.0.1:3306'))) return t.skip('no MariaDB');
  const source = `tether_src_${suffix}`;
  const restored = `tether_dst_${suffix}`;
  await maria(['-e', `create database ${source}; create database ${restored};`]);
  t.after(() => maria(['-e', `drop database if exists ${source}; drop database if exists ${restored};`]).catch(() => {}));
  await maria([
    '-D',
    source,
    '-e',
    `
    create table items (id int primary key auto_increment, name varchar(100) character set utf8mb4, price decimal(10,2), created datetime, blobby blob) engine=InnoDB;
    insert into items (name, price, created, blobby)
      select concat('árú ', seq), seq * 0.25, from_unixtime(1600000000 + seq), unhex(md5(seq)) from seq_1_to_30000;`,
  ]);
  const checksum = async (db: string) => (await maria(['-D', db, '-e', 'select count(*), md5(group_concat(id, name, price, created, hex(blobby) order by id)) from items'])).stdout;
  await maria(['-e', 'set global group_concat_max_len = 1073741824']);
  const commands = h.commands({
    recipients: [h.recipient],
    identity_file: h.identityFile,
    restore_enabled: true,
    targets: { shop: { kind: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', databases: [source], restore_database: restored } },
  });
  const result = await h.call(commands, 'backup', { target: 'shop' });
  const plain = join(h.dir, 'shop.sql');
  await decryptWithCli(artifactPathOf(result), h.identityFile, plain);
  assert.match(await readFile(plain, 'utf8'), /CREATE TABLE `items`/);
  await h.call(commands, 'restore', { id: result.id, target: 'shop' });
  assert.equal(await checksum(restored), await checksum(source));
  assert.doesNotMatch(h.logs.join(''), /password=/);
});

test('sqlite: snapshot of a database another process keeps writing is consistent and restores', async () => {
  const path = join(h.dir, 'live.db');
  const db = new DatabaseSync(path);
  db.exec('pragma journal_mode=wal; create table ledger (id integer primary key, amount integer not null); create table totals (total integer not null); insert into totals values (0);');
  db.close();
  // A writer process that keeps the invariant sum(ledger.amount) = totals.total inside each transaction.
  const writer = fork('--input-type=module', [], {
    execArgv: [
      '-e',
      `
      import { DatabaseSync } from 'node:sqlite';
      const db = new DatabaseSync(${JSON.stringify(path)});
      db.exec('pragma busy_timeout = 5000');
      const add = db.prepare('insert into ledger (amount) values (?)');
      const bump = db.prepare('update totals set total = total + ?');
      process.send('ready');
      for (;;) { db.exec('begin'); for (let i = 0; i < 50; i++) { const n = (i % 7) + 1; add.run(n); bump.run(n); } db.exec('commit'); }
    `,
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  after(() => writer.kill('SIGKILL'));
  await new Promise((resolve) => writer.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const commands = h.commands({ recipients: [h.recipient], identity_file: h.identityFile, restore_enabled: true, targets: { live: { kind: 'sqlite', path } } });
  const result = await h.call(commands, 'backup', { target: 'live' });
  writer.kill('SIGKILL');
  await new Promise((resolve) => writer.once('exit', resolve));

  const snapshot = join(h.dir, 'snapshot.db');
  await decryptWithCli(artifactPathOf(result), h.identityFile, snapshot);
  const copy = new DatabaseSync(snapshot, { readOnly: true });
  const check = copy.prepare('pragma integrity_check').get() as { integrity_check: string };
  const sum = copy.prepare('select (select coalesce(sum(amount), 0) from ledger) as ledger, (select total from totals) as total, (select count(*) from ledger) as rows').get() as {
    ledger: number;
    total: number;
    rows: number;
  };
  copy.close();
  assert.equal(check.integrity_check, 'ok');
  assert.ok(sum.rows > 0);
  assert.equal(sum.ledger, sum.total);

  await h.call(commands, 'restore', { id: result.id, target: 'live' });
  const back = new DatabaseSync(path, { readOnly: true });
  const rows = (back.prepare('select count(*) as n from ledger').get() as { n: number }).n;
  back.close();
  assert.equal(rows, sum.rows);
});
