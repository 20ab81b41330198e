// Backup pipeline benchmark: a tree of mixed files through our pipeline to the local sink
// (zstd, then zstd + age) against `tar -cf - | zstd -1` and `tar -czf` in the same run.
// Medians of N runs. Our pipeline's RSS is sampled from /proc/self/status every 20 ms inside the
// worker (idle = after imports, before the backup); the baselines' peak RSS comes from GNU time.
// Run alone: node scripts/bench/backup.ts [--gib 1] [--runs 3]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchRow } from './table.ts';
import { printTable } from './table.ts';
import { median } from './memory.ts';

const HERE = fileURLToPath(import.meta.url);
const REPO_ROOT = join(dirname(HERE), '..', '..');

export interface BackupBenchOptions {
  /** Bytes of test data (default 1 GiB). */
  totalBytes?: number;
  runs?: number;
  /** Where the data and outputs go (default a temp dir, removed afterwards). */
  workDir?: string;
}

/** Roughly a third each: random (incompressible), text (compressible), many small files. */
async function makeTree(root: string, totalBytes: number): Promise<void> {
  const third = Math.floor(totalBytes / 3);
  await mkdir(join(root, 'random'), { recursive: true });
  await mkdir(join(root, 'text'), { recursive: true });
  await mkdir(join(root, 'small'), { recursive: true });
  const chunk = 8 << 20;
  for (let written = 0, index = 0; written < third; written += chunk, index++) await writeFile(join(root, 'random', `r${index}.bin`), randomBytes(Math.min(chunk, third - written)));
  const words = Array.from({ length: 2000 }, (_, i) => `word${i * 7919 % 2000}`).join(' ');
  for (let written = 0, index = 0; written < third; written += chunk, index++) {
    const size = Math.min(chunk, third - written);
    await writeFile(join(root, 'text', `t${index}.log`), Buffer.from(words.repeat(Math.ceil(size / words.length)).slice(0, size)));
  }
  for (let written = 0, index = 0; written < third; written += 16_384, index++) {
    const dir = join(root, 'small', String(index % 64));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `s${index}.dat`), randomBytes(4096).toString('hex'));
  }
}

interface Timed { seconds: number; peakRssKb: number; idleRssKb?: number }

/** Runs our worker; it reports its own idle and peak RSS (KiB) as JSON on stdout. */
function timedWorker(argv: string[]): Promise<Timed> {
  const started = process.hrtime.bigint();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (text) => (out += text));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker failed (${code})`));
      const report = JSON.parse(out.trim().split('\n').at(-1)!) as { idle_kb: number; peak_kb: number };
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssKb: report.peak_kb, idleRssKb: report.idle_kb });
    });
  });
}

function rssKb(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** Runs argv under GNU time; resolves with wall time and peak RSS (KiB). Optionally pipes into a second argv. */
function timed(argv: string[], pipeTo?: string[]): Promise<Timed> {
  const started = process.hrtime.bigint();
  const launch = (command: string[], stdio: Array<'ignore' | 'pipe' | 'inherit'>) => spawn('/usr/bin/time', ['-f', '%M', ...command], { stdio: stdio as never });
  const first = launch(argv, ['ignore', pipeTo ? 'pipe' : 'ignore', 'pipe']);
  const second = pipeTo ? launch(pipeTo, ['pipe', 'ignore', 'pipe']) : null;
  if (second) first.stdout!.pipe(second.stdin!);
  const finish = (child: ReturnType<typeof launch>) =>
    new Promise<number>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (text) => (err += text));
      child.on('close', (code) => (code === 0 ? resolve(Number(err.trim().split('\n').at(-1))) : reject(new Error(`${argv[0]} failed: ${err}`))));
    });
  return Promise.all([finish(first), ...(second ? [finish(second)] : [])]).then((rss) => ({
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    peakRssKb: rss.reduce((a, b) => a + b, 0),
  }));
}

/** Worker mode: one backup through our pipeline (run in a child so its RSS is its own). */
async function worker(spec: { root: string; out: string; recipients: string[]; level: number }): Promise<void> {
  const { filesSource } = await import('../../agent/src/backup/sources/files.ts');
  const { runPipeline } = await import('../../agent/src/backup/pipeline.ts');
  const idle = rssKb();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb())), 20);
  const source = await filesSource({ kind: 'files', roots: [spec.root], excludes: [] });
  await runPipeline(source.stream, spec.out, { compression: 'zstd', level: spec.level, recipients: spec.recipients, signal: new AbortController().signal });
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ idle_kb: idle, peak_kb: Math.max(peak, rssKb()) })}\n`);
}

export async function runBackupBench(options: BackupBenchOptions = {}): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const totalBytes = options.totalBytes ?? 1 << 30;
  const runs = options.runs ?? 3;
  const work = options.workDir ?? (await mkdtemp(join(tmpdir(), 'tether-bench-backup-')));
  const root = join(work, 'data');
  await makeTree(root, totalBytes);
  const { generateIdentity } = await import('../../agent/src/backup/age/x25519.ts');
  const { recipient } = generateIdentity();
  const ours = (recipients: string[], out: string) => [process.execPath, HERE, '--worker', JSON.stringify({ root, out, recipients, level: 1 })];
  const cases: Array<{ name: string; out: string; run: (out: string) => Promise<Timed> }> = [
    { name: 'tether zstd-1', out: 'ours.tar.zst', run: (out) => timedWorker(ours([], out)) },
    { name: 'tether zstd-1 + age', out: 'ours.tar.zst.age', run: (out) => timedWorker(ours([recipient], out)) },
    { name: 'tar -cf - | zstd -1', out: 'base.tar.zst', run: (out) => timed(['tar', '-cf', '-', '-C', work, 'data'], ['zstd', '-1', '-q', '-f', '-o', out]) },
    { name: 'tar -czf', out: 'base.tar.gz', run: (out) => timed(['tar', '-czf', out, '-C', work, 'data']) },
  ];
  const rows: BenchRow[] = [];
  const results: Record<string, unknown> = {};
  try {
    for (const item of cases) {
      const samples: Timed[] = [];
      let size = 0;
      for (let i = 0; i < runs; i++) {
        const out = join(work, item.out);
        await rm(out, { force: true });
        samples.push(await item.run(out));
        size = (await stat(out)).size;
      }
      const seconds = median(samples.map((s) => s.seconds));
      const rssMb = Math.max(...samples.map((s) => s.peakRssKb)) / 1024;
      const idle = samples[0]!.idleRssKb;
      const mibPerS = totalBytes / (1 << 20) / seconds;
      results[item.name] = { median_s: seconds, mib_per_s: mibPerS, peak_rss_mb: rssMb, ...(idle !== undefined ? { idle_rss_mb: idle / 1024 } : {}), output_bytes: size, samples };
      rows.push({ metric: `${item.name}: throughput`, value: mibPerS.toFixed(1), unit: 'MiB/s' });
      rows.push({ metric: `${item.name}: peak RSS`, value: rssMb.toFixed(1), unit: 'MB' });
      if (idle !== undefined) rows.push({ metric: `${item.name}: peak RSS above idle`, value: (rssMb - idle / 1024).toFixed(1), unit: 'MB' });
      rows.push({ metric: `${item.name}: output`, value: (size / (1 << 20)).toFixed(1), unit: 'MiB' });
    }
  } finally {
    if (!options.workDir) await rm(work, { recursive: true, force: true });
  }
  return { rows, json: { total_bytes: totalBytes, runs, results } };
}

if (process.argv[1] === HERE) {
  const { values } = parseArgs({ options: { worker: { type: 'string' }, gib: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' } }, strict: true });
  if (values.worker) {
    await worker(JSON.parse(values.worker));
  } else {
    const result = await runBackupBench({ totalBytes: Math.round(Number(values.gib) * (1 << 30)), runs: Number(values.runs) });
    printTable('backup pipeline (local sink)', result.rows);
    const outDir = join(REPO_ROOT, 'bench-results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'backup.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
  }
}
