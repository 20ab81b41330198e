// PostgreSQL backup benchmark: `tether-agent backup run` of a pgbench database (a few hundred MB)
// against `pg_dump | zstd -1` of the same database, in the same run, medians of N runs; then the
// restore test of an age-encrypted artifact of it (`backup verify <id> --restore`: decrypt, restore
// into a throwaway database, row counts, check query) against `zstd -dc | psql` into a new database.
// Uses the machine's PostgreSQL (TETHER_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432).
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { REPO_ROOT } from '../../test/helpers/process.ts';
import { median, round } from './memory.ts';
import type { BenchRow } from './table.ts';

const DATABASE = 'tether_bench_pg';

function pgUrl(): URL {
  return new URL(process.env.TETHER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
}

function connectionArgs(): string[] {
  const url = pgUrl();
  return ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres')];
}

function psqlArgs(database: string): string[] {
  return [...connectionArgs(), '-d', database];
}

/** Baseline: pg_dump's stdout piped into zstd -1, both real processes, no shell. */
async function pgDumpZstd(out: string): Promise<void> {
  const dump = spawn('pg_dump', psqlArgs(DATABASE), { stdio: ['ignore', 'pipe', 'inherit'] });
  const zstd = spawn('zstd', ['-1', '-q', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = Promise.all([
    pipeline(dump.stdout, zstd.stdin),
    pipeline(zstd.stdout, createWriteStream(out)),
    new Promise((resolve, reject) => dump.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`pg_dump exited ${code}`))))),
  ]);
  await done;
}

function runAgent(agent: string, args: string[], config: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [agent, ...args], { env: { ...process.env, TETHER_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (text) => (out += text));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tether-agent ${args.join(' ')} exited ${code}`))));
  });
}

/** The restore test of one encrypted artifact, N times, against restoring the plain dump with psql. */
async function restoreTestBench(
  work: string,
  agent: string,
  runs: number,
): Promise<{ median_s: number; baseline_median_s: number; ratio: number; runs_s: number[]; baseline_s: number[]; checked: string[] }> {
  const identity = join(work, 'identity.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  const url = pgUrl();
  const config = join(work, 'agent-verify.yaml');
  await writeFile(
    config,
    [
      'server_url: ws://127.0.0.1:9',
      'api_key: tak_benchmark_only_key',
      `state_dir: ${join(work, 'state-verify')}`,
      'log_level: warn',
      'backup:',
      `  recipients: [${recipient}]`,
      `  identity_file: ${identity}`,
      '  compression: { algorithm: zstd, level: 1 }',
      '  targets:',
      '    db:',
      '      kind: postgres',
      `      url: postgres://${url.username || 'postgres'}@${url.hostname}:${url.port || '5432'}`,
      `      databases: [${DATABASE}]`,
      '      verify: { sql: "select count(*) from pgbench_accounts" }',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const made = JSON.parse(await runAgent(agent, ['backup', 'run', 'db'], config)) as { id: string };
  const times: number[] = [];
  const baseline: number[] = [];
  let checked: string[] = [];
  for (let i = 0; i < runs; i += 1) {
    baseline.push(
      await timed(async () => {
        const scratch = `${DATABASE}_restore`;
        execFileSync('psql', [...psqlArgs('postgres'), '-q', '-c', `DROP DATABASE IF EXISTS ${scratch}`, '-c', `CREATE DATABASE ${scratch}`], { stdio: 'ignore' });
        const unzstd = spawn('zstd', ['-dc', join(work, 'base-0.sql.zst')], { stdio: ['ignore', 'pipe', 'inherit'] });
        const psql = spawn('psql', [...psqlArgs(scratch), '-q', '-X', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'ignore', 'inherit'] });
        await Promise.all([pipeline(unzstd.stdout, psql.stdin), new Promise((resolve, reject) => psql.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`psql exited ${code}`)))))]);
        execFileSync('psql', [...psqlArgs('postgres'), '-q', '-c', `DROP DATABASE ${scratch}`], { stdio: 'ignore' });
      }),
    );
    let result: { ok: boolean; checked: string[]; problems: string[] } | undefined;
    times.push(
      await timed(async () => {
        result = JSON.parse(await runAgent(agent, ['backup', 'verify', made.id, '--restore'], config));
      }),
    );
    if (!result?.ok) throw new Error(`restore test failed: ${result?.problems.join('; ')}`);
    checked = result.checked;
  }
  const ours = median(times);
  const base = median(baseline);
  return { median_s: ours, baseline_median_s: base, ratio: round(ours / base, 2), runs_s: times, baseline_s: baseline, checked };
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function runPostgresBench(options: { scale: number; runs: number }): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const work = await mkdtemp(join(tmpdir(), 'tether-bench-pg-'));
  const admin = psqlArgs('postgres');
  try {
    execFileSync('psql', [...admin, '-q', '-c', `DROP DATABASE IF EXISTS ${DATABASE}`], { stdio: 'ignore' });
    execFileSync('psql', [...admin, '-q', '-c', `CREATE DATABASE ${DATABASE}`], { stdio: 'ignore' });
    execFileSync('pgbench', [...connectionArgs(), '-i', '-q', '-s', String(options.scale), DATABASE], { stdio: 'ignore' });
    const size = execFileSync('psql', [...psqlArgs(DATABASE), '-tA', '-c', `SELECT pg_database_size('${DATABASE}')`], { encoding: 'utf8' }).trim();

    const url = pgUrl();
    const config = join(work, 'agent.yaml');
    await writeFile(
      config,
      [
        `server_url: ws://127.0.0.1:9`,
        'api_key: tak_benchmark_only_key',
        `state_dir: ${join(work, 'state')}`,
        'log_level: warn',
        'backup:',
        '  compression: { algorithm: zstd, level: 1 }',
        '  targets:',
        '    db:',
        '      kind: postgres',
        `      url: postgres://${url.username || 'postgres'}@${url.hostname}:${url.port || '5432'}`,
        `      databases: [${DATABASE}]`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const agent = join(REPO_ROOT, 'dist', 'agent.mjs');
    const ours = async (): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [agent, 'backup', 'run', 'db'], { env: { ...process.env, TETHER_CONFIG: config }, stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tether-agent backup run exited ${code}`))));
      });
    };
    const oursTimes: number[] = [];
    const baseTimes: number[] = [];
    for (let i = 0; i < options.runs; i += 1) {
      baseTimes.push(await timed(() => pgDumpZstd(join(work, `base-${i}.sql.zst`))));
      oursTimes.push(await timed(ours));
    }
    const baseSize = (await stat(join(work, 'base-0.sql.zst'))).size;
    const oursMedian = median(oursTimes);
    const baseMedian = median(baseTimes);
    const restore = await restoreTestBench(work, agent, options.runs);
    const json = {
      database_bytes: Number(size),
      runs: options.runs,
      tether_s: oursTimes,
      pg_dump_zstd_s: baseTimes,
      baseline_output_bytes: baseSize,
      ratio: round(oursMedian / baseMedian, 2),
      restore_test: restore,
    };
    const rows: BenchRow[] = [
      {
        metric: `tether backup (postgres, ${round(Number(size) / 2 ** 20, 0)} MiB database)`,
        value: round(oursMedian, 2),
        unit: 's',
        target: '≤ 1.1× baseline',
        baseline: `pg_dump | zstd -1 ${round(baseMedian, 2)} s, ×${json.ratio}`,
      },
      {
        metric: 'restore test (age artifact → throwaway db, row counts, check query)',
        value: round(restore.median_s, 2),
        unit: 's',
        target: 'report',
        baseline: `zstd -dc | psql into a new db ${round(restore.baseline_median_s, 2)} s, ×${restore.ratio}`,
      },
    ];
    return { rows, json };
  } finally {
    execFileSync('psql', [...admin, '-q', '-c', `DROP DATABASE IF EXISTS ${DATABASE}`], { stdio: 'ignore' });
    await rm(work, { recursive: true, force: true });
  }
}
