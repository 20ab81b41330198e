// `npm run fuzz -- --minutes N`: the long fuzz run. Runs every property in test/fuzz/ against real
// hub and agent processes, one file after the other, each for its share of N minutes (inside
// `npm test` the same files try a bounded number of cases). Prints the cases each property tried
// and exits 1 when one found a case that breaks it (the report names the case and the seed;
// TETHER_FUZZ_SEED=<seed> replays it). --only NAME runs the files whose name contains NAME.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, only: { type: 'string' } }, strict: true });
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  process.stderr.write('usage: npm run fuzz -- --minutes N [--only hub-http|hub-websocket|agent-frames|agent-http|agent-config|cli-args]\n');
  process.exit(2);
}

const root = new URL('../', import.meta.url).pathname;
const files = readdirSync(join(root, 'test/fuzz'))
  .filter((name) => name.endsWith('.test.ts') && (!values.only || name.includes(values.only)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no fuzz file matches --only ${values.only}\n`);
  process.exit(2);
}
const msPerFile = Math.floor((minutes * 60_000) / files.length);
process.stdout.write(`fuzzing ${files.length} files for ${minutes} min (${Math.round(msPerFile / 1000)} s each)\n`);

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== test/fuzz/${file}\n`);
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${msPerFile + 600_000}`, join('test/fuzz', file)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TETHER_FUZZ_MS_PER_FILE: String(msPerFile) },
  });
  if (run.status !== 0) failed += 1;
}
process.stdout.write(`\n${failed === 0 ? 'no property broken' : `${failed} of ${files.length} fuzz files found a case that breaks a property (see above)`}\n`);
process.exit(failed === 0 ? 0 : 1);
