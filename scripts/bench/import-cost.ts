// What loading a module costs a fresh Node process: private memory (USS, /proc/PID/smaps_rollup)
// after importing it, minus a bare process, median of N fresh processes. Each module is first
// bundled the way releases are (scripts/build.ts's esbuild options), so that .ts files cost what
// they cost in a release, not Node's TypeScript loader. The numbers behind the hand-written
// pieces tether loads instead of npm packages (docs/decisions.md).
// Run: node scripts/bench/import-cost.ts [--runs 7]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleEntry } from '../build.ts';
import { median, readMemory, round } from './memory.ts';
import { printTable } from './table.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Each pair: the npm package, and what tether loads instead. */
const MODULES: Array<[string, string]> = [
  ['semver', join(REPO_ROOT, 'shared/src/release/versions.ts')],
  ['pino', join(REPO_ROOT, 'supervisor/src/logger.ts')],
  ['commander', 'node:util'],
  ['zod', join(REPO_ROOT, 'shared/src/release/manifest.ts')],
  ['undici', 'node:https'],
  // The hub: what the hand-written SigV4 presigner stands in for.
  ['@aws-sdk/client-s3', join(REPO_ROOT, 'hub/src/artifacts/s3-presign.ts')],
  ['@smithy/signature-v4', join(REPO_ROOT, 'hub/src/artifacts/s3-presign.ts')],
];

/** USS (MB) of a fresh Node process that imported `specifier` (or nothing) and then went idle. */
function ussAfterImport(specifier: string | null): Promise<number> {
  const code = `${specifier ? `await import(${JSON.stringify(specifier)});` : ''} globalThis.gc?.(); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => {
      setTimeout(() => {
        const { uss_mb } = readMemory(child.pid!);
        child.kill();
        resolve(uss_mb);
      }, 300);
    });
    child.once('exit', (code) => code !== null && code !== 0 && reject(new Error(`import of ${specifier} failed (exit ${code})`)));
  });
}

// Inside the checkout, so that the entries resolve npm packages from its node_modules.
const work = await mkdtemp(join(REPO_ROOT, 'node_modules', '.tether-import-cost-'));
let bundles = 0;

/** A release-style bundle holding `specifier` (kept alive, so nothing is tree-shaken away). */
async function bundled(specifier: string): Promise<string> {
  if (specifier.startsWith('node:')) return specifier;
  const entry = join(work, `entry-${bundles}.mjs`);
  const outfile = join(work, `bundle-${bundles++}.mjs`);
  await writeFile(entry, `import * as loaded from ${JSON.stringify(specifier)};\nglobalThis.loaded = loaded;\n`);
  await bundleEntry({ entry, outfile });
  return outfile;
}

async function medianUss(specifier: string | null, runs: number): Promise<number> {
  const target = specifier === null ? null : await bundled(specifier);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await ussAfterImport(target));
  return median(samples);
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } }, strict: true });
const runs = Number(values.runs);
const bare = await medianUss(null, runs);
const rows = [{ metric: 'bare node process: USS', value: String(bare), unit: 'MB' }];
for (const [npm, ours] of MODULES) {
  const npmCost = (await medianUss(npm, runs)) - bare;
  const oursCost = (await medianUss(ours, runs)) - bare;
  rows.push({ metric: `${npm}: USS above bare`, value: String(round(npmCost)), unit: 'MB' });
  rows.push({ metric: `instead, ${ours.replace(`${REPO_ROOT}/`, '')}: USS above bare`, value: String(round(oursCost)), unit: 'MB' });
}
printTable(`import cost, bundled (median of ${runs} fresh processes)`, rows);
await rm(work, { recursive: true, force: true });
