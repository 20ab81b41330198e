// `npm run bench`: builds the bundles, runs every benchmark, prints tables, writes bench-results/*.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../test/helpers/process.ts';
import { printTable } from './table.ts';
import { runFoundationBench } from './foundation.ts';
import { runBackupBench } from './backup.ts';
import { runPostgresBench } from './postgres.ts';
import { runTransportBench } from './transport.ts';
import { runLifecycleBench } from './lifecycle.ts';
import { runStorageBench } from './storage.ts';
import { runMicrohackBench } from './microhack.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'backup-gib': { type: 'string', default: '1' },
    /** Directory for a CPU profile of the hub during the foundation bench (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
    /** Measure this hub bundle instead of dist/tether.mjs in the foundation bench (A/B runs). */
    hub: { type: 'string' },
  },
  strict: true,
});

const outDir = join(REPO_ROOT, 'bench-results');
mkdirSync(outDir, { recursive: true });
const wanted = (name: string): boolean => !values.only || values.only.split(',').includes(name);

process.stdout.write('building bundles (npm run build)…\n');
execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build.ts')], { stdio: 'inherit', cwd: REPO_ROOT });

if (wanted('foundation')) {
  const sizes = values.quick ? { pings: 300, echoes: 2000, inFlight: 100 } : { pings: 2000, echoes: 20_000, inFlight: 100 };
  const result = await runFoundationBench({ ...sizes, cpuProfDir: values['cpu-prof'], hubEntry: values.hub });
  printTable(`foundation (${result.json.form})`, result.rows);
  writeFileSync(join(outDir, 'foundation.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('microhack')) {
  const result = await runMicrohackBench(
    values.quick ? { pings: 300, echoes: 5000, execs: 1000, inFlight: 100, workers: 32 } : { pings: 1000, echoes: 20_000, execs: 5000, inFlight: 100, workers: 32 },
  );
  printTable('micro-hack-style server (Python websockets: connected, commands, no registered, no acks)', result.rows);
  writeFileSync(join(outDir, 'microhack.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('lifecycle')) {
  const result = await runLifecycleBench(values.quick ? { updates: 3, crashLoopS: 15 } : { updates: 5, crashLoopS: 60 });
  printTable('lifecycle (update, rollback, crash loop)', result.rows);
  writeFileSync(join(outDir, 'lifecycle.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('transport')) {
  const result = await runTransportBench(values.quick ? { pings: 200, starts: 1 } : { pings: 1000, starts: 3 });
  printTable('transport (HTTP long poll, switching)', result.rows);
  writeFileSync(join(outDir, 'transport.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('backup')) {
  const gib = values.quick ? 0.25 : Number(values['backup-gib']);
  if (!(gib > 0)) throw new Error('--backup-gib must be a positive number of GiB');
  const result = await runBackupBench({ totalBytes: Math.round(gib * 2 ** 30), runs: values.quick ? 1 : 3 });
  printTable(`backup (${gib} GiB mixed files, medians)`, result.rows);
  writeFileSync(join(outDir, 'backup.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('postgres')) {
  const result = await runPostgresBench(values.quick ? { scale: 5, runs: 1 } : { scale: 30, runs: 3 });
  printTable('backup of PostgreSQL (medians)', result.rows);
  writeFileSync(join(outDir, 'postgres.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
if (wanted('storage')) {
  const result = await runStorageBench(values.quick ? { commands: 3000, inFlight: 100, runs: 1 } : { commands: 20_000, inFlight: 100, runs: 3 });
  printTable('storage (insert + complete, durable, medians)', result.rows);
  writeFileSync(join(outDir, 'storage.json'), `${JSON.stringify({ at: new Date().toISOString(), ...result.json }, null, 2)}\n`);
}
process.stdout.write(`\nJSON written to ${outDir}/\n`);
