// Backup pipeline benchmark: a tree of mixed files through our pipeline to the local sink
// (zstd, then zstd + age) against `tar -cf - | zstd -1` and `tar -czf` in the same run. The tar
// writer is measured on its own too: tether's (sources/tar-pack.ts) against npm `tar` (configured
// as the files source used it before tar-pack.ts) and GNU tar, each into a sink that only counts
// the bytes (no disk write to drown the difference), and npm `tar` through the same zstd pipeline.
// Medians of N runs; our workers' times include their Node start-up. Their RSS is sampled from
// /proc/self/status every 20 ms (idle = after imports, before the backup); the GNU tools' peak RSS
// comes from GNU time. The speed ratios at the end are the claims of tar-pack.ts's header.
// Run alone: node scripts/bench/backup.ts [--gib 1] [--runs 3]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  const words = Array.from({ length: 2000 }, (_, i) => `word${(i * 7919) % 2000}`).join(' ');
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

interface Timed {
  seconds: number;
  peakRssKb: number;
  idleRssKb?: number;
}

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

type Packer = 'tether' | 'npm-tar';

interface WorkerSpec {
  root: string;
  out: string;
  recipients: string[];
  level: number;
  packer: Packer;
  /** Only the tar stream, counted and dropped (no compression, no encryption, no disk write); its size goes to `out`. */
  tarOnly?: boolean;
}

/** The tar stream of `root` from npm `tar`, with the options the files source used before tar-pack.ts. */
async function npmTarStream(root: string): Promise<Readable> {
  const tar = await import('tar');
  const pack = tar.create({ cwd: '/', portable: false, follow: false, strict: false, maxReadSize: 1 << 20, jobs: 2 }, [root.slice(1)]);
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Worker mode: one backup (or one tar stream) of the tree, in a child so that its RSS is its own. */
async function worker(spec: WorkerSpec): Promise<void> {
  const { filesSource } = await import('../../agent/src/backup/sources/files.ts');
  const { runPipeline } = await import('../../agent/src/backup/pipeline.ts');
  if (spec.packer === 'npm-tar') await import('tar');
  const idle = rssKb();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb())), 20);
  const stream = spec.packer === 'tether' ? (await filesSource({ kind: 'files', roots: [spec.root], excludes: [] })).stream : await npmTarStream(spec.root);
  if (spec.tarOnly) {
    let bytes = 0;
    await pipeline(
      stream,
      new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          bytes += chunk.length;
          done();
        },
      }),
    );
    writeFileSync(spec.out, String(bytes));
  } else await runPipeline(stream, spec.out, { compression: 'zstd', level: spec.level, recipients: spec.recipients, signal: new AbortController().signal });
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
  const ours = (spec: Omit<WorkerSpec, 'root' | 'level'>) => timedWorker([process.execPath, HERE, '--worker', JSON.stringify({ root, level: 1, ...spec })]);
  /** `out` names the output file ("" for none); a `.size` file holds the byte count of a stream that was dropped. */
  const cases: Array<{ name: string; out: string; run: (out: string) => Promise<Timed> }> = [
    { name: 'tether zstd-1', out: 'ours.tar.zst', run: (out) => ours({ out, recipients: [], packer: 'tether' }) },
    { name: 'npm tar zstd-1', out: 'npm.tar.zst', run: (out) => ours({ out, recipients: [], packer: 'npm-tar' }) },
    { name: 'tether zstd-1 + age', out: 'ours.tar.zst.age', run: (out) => ours({ out, recipients: [recipient], packer: 'tether' }) },
    { name: 'tar -cf - | zstd -1', out: 'base.tar.zst', run: (out) => timed(['tar', '-cf', '-', '-C', work, 'data'], ['zstd', '-1', '-q', '-f', '-o', out]) },
    { name: 'tar -czf', out: 'base.tar.gz', run: (out) => timed(['tar', '-czf', out, '-C', work, 'data']) },
    { name: 'tar only: tether tar-pack', out: 'ours.tar.size', run: (out) => ours({ out, recipients: [], packer: 'tether', tarOnly: true }) },
    { name: 'tar only: npm tar', out: 'npm.tar.size', run: (out) => ours({ out, recipients: [], packer: 'npm-tar', tarOnly: true }) },
    // Into a pipe, not /dev/null (GNU tar skips reading files when it sees /dev/null).
    { name: 'tar only: tar -cf - | wc -c', out: '', run: () => timed(['tar', '-cf', '-', '-C', work, 'data'], ['wc', '-c']) },
  ];
  const rows: BenchRow[] = [];
  const results: Record<string, unknown> = {};
  try {
    // Round robin: run i of every case happens in the same stretch of time, so that per-run
    // ratios compare runs that saw the same machine load.
    const samplesOf = new Map(cases.map((item) => [item.name, [] as Timed[]]));
    const sizeOf = new Map<string, number>();
    for (let i = 0; i < runs; i++) {
      for (const item of cases) {
        const out = join(work, item.out);
        if (item.out) await rm(out, { force: true });
        samplesOf.get(item.name)!.push(await item.run(out));
        if (item.out) sizeOf.set(item.name, item.out.endsWith('.size') ? Number(await readFile(out, 'utf8')) : (await stat(out)).size);
      }
    }
    for (const item of cases) {
      const samples = samplesOf.get(item.name)!;
      const size = sizeOf.get(item.name) ?? 0;
      const seconds = median(samples.map((s) => s.seconds));
      const rssMb = Math.max(...samples.map((s) => s.peakRssKb)) / 1024;
      const idle = samples[0]!.idleRssKb;
      const mibPerS = totalBytes / (1 << 20) / seconds;
      results[item.name] = { median_s: seconds, mib_per_s: mibPerS, peak_rss_mb: rssMb, ...(idle !== undefined ? { idle_rss_mb: idle / 1024 } : {}), output_bytes: size, samples };
      rows.push({ metric: `${item.name}: throughput`, value: mibPerS.toFixed(1), unit: 'MiB/s' });
      rows.push({ metric: `${item.name}: peak RSS`, value: rssMb.toFixed(1), unit: 'MB' });
      if (idle !== undefined) rows.push({ metric: `${item.name}: peak RSS above idle`, value: (rssMb - idle / 1024).toFixed(1), unit: 'MB' });
      if (item.out) rows.push({ metric: `${item.name}: output`, value: (size / (1 << 20)).toFixed(1), unit: 'MiB' });
    }
    // The claims in tar-pack.ts's header, measured in this run: speed ratios of the medians.
    const speed = (name: string) => (results[name] as { median_s: number }).median_s;
    const ratios = {
      'tar only: tether tar-pack / npm tar': speed('tar only: npm tar') / speed('tar only: tether tar-pack'),
      'tar only: tether tar-pack / GNU tar': speed('tar only: tar -cf - | wc -c') / speed('tar only: tether tar-pack'),
      'tar only: npm tar / GNU tar': speed('tar only: tar -cf - | wc -c') / speed('tar only: npm tar'),
      'zstd-1: tether / npm tar': speed('npm tar zstd-1') / speed('tether zstd-1'),
    };
    for (const [metric, ratio] of Object.entries(ratios)) rows.push({ metric: `speed ratio ${metric}`, value: ratio.toFixed(2), unit: 'x' });
    results.speed_ratios = ratios;
    // Issue 13's target: files with age at ≥ 0.9x the speed of `tar -cf - | zstd -1`, in every run.
    const perRun = (name: string) => (results[name] as { samples: Timed[] }).samples.map((sample) => sample.seconds);
    const ageRuns = perRun('tether zstd-1 + age');
    const tarRuns = perRun('tar -cf - | zstd -1');
    const runRatios = ageRuns.map((seconds, i) => tarRuns[i]! / seconds);
    results.age_vs_tar_zstd = { per_run: runRatios, median: tarRuns.length ? median(tarRuns) / median(ageRuns) : null, min: Math.min(...runRatios) };
    rows.push({
      metric: 'speed ratio tether zstd-1 + age / tar -cf - | zstd -1 (median; target ≥ 0.9 every run)',
      value: (median(tarRuns) / median(ageRuns)).toFixed(2),
      unit: 'x',
      baseline: `runs ${runRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`,
    });
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
