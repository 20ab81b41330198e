// `npm run build [-- --version V] [--out DIR] [--only agent,supervisor]`: bundles the programs with esbuild into
// `dist/<name>.mjs` entry files that run with plain `node dist/<name>.mjs`, plus shared chunks in
// `dist/chunks/`. Code splitting keeps what a program loads lazily (backups, updates, the HTTP
// transport, undici) out of its start-up parse: the idle agent is about a third smaller for it.
// The supervisor and the manager load nothing lazily and are built as one self-contained file each:
// every chunk is a module of its own, and the supervisor split into chunks with the agent measured
// 12.66 MB USS against 12.02 MB as one file (supervising an idle agent, median of 5 runs).
import { access, mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { BuildOptions as BuildOptionsOfEsbuild } from 'esbuild';
import { isValidVersion } from '../shared/src/release/versions.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** Bundle name → entry file (relative to the repository root). */
export const BUNDLES = {
  agent: 'agent/src/main.ts',
  supervisor: 'supervisor/src/main.ts',
  /** deploy.sh's install-and-manage program, shipped in every release (installer/). */
  manager: 'installer/src/main.ts',
  tether: 'hub/src/cli/main.ts',
} as const;

export type BundleName = keyof typeof BUNDLES;

/** Worker-thread entry files of the agent, built as `chunks/<name>.mjs` (see tar-worker-stream.ts). */
const WORKERS = { 'chunks/backup-tar-worker': join(ROOT, 'agent/src/backup/sources/tar-worker.ts') };

/** Built as one file each, sharing no chunks (see the header). */
const STANDALONE: ReadonlySet<BundleName> = new Set(['supervisor', 'manager']);

// ESM output, CJS dependencies (pino and friends) call require() and use __dirname: give them both.
const BANNER = [
  "import { createRequire as __tetherCreateRequire } from 'node:module';",
  "import { fileURLToPath as __tetherFileURLToPath } from 'node:url';",
  "import { dirname as __tetherDirname } from 'node:path';",
  'const require = __tetherCreateRequire(import.meta.url);',
  'const __filename = __tetherFileURLToPath(import.meta.url);',
  'const __dirname = __tetherDirname(__filename);',
].join('\n');

export interface BuildOptions {
  /** Output directory; default <repo>/dist. */
  outDir?: string;
  /** Release version compiled in (shared/src/version.ts); default: package.json's. */
  version?: string;
  /** Which bundles; default all of them. */
  bundles?: readonly BundleName[];
}

/** What every bundle shares: ESM for Node 22+, minified, the require banner, the version. */
function esbuildOptions(version: string | undefined): BuildOptionsOfEsbuild {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: BANNER },
    // shared/src/version.ts prefers this identifier over package.json when it is defined.
    define: version === undefined ? {} : { __TETHER_RELEASE_VERSION__: JSON.stringify(version) },
  };
}

/** Bundles one entry file into one self-contained ESM file for Node. */
export async function bundleEntry(options: { entry: string; outfile: string; version?: string }): Promise<void> {
  await build({ ...esbuildOptions(options.version), entryPoints: [options.entry], outfile: options.outfile });
}

/** Builds the bundles; throws with a clear message when an entry file does not exist (yet). */
export async function buildBundles(options: BuildOptions = {}): Promise<Record<string, string>> {
  const outDir = resolve(options.outDir ?? join(ROOT, 'dist'));
  const names = options.bundles ?? (Object.keys(BUNDLES) as BundleName[]);
  if (options.version !== undefined && !isValidVersion(options.version)) {
    throw new Error(`--version "${options.version}" is not semver (e.g. 1.4.0)`);
  }
  const missing: string[] = [];
  for (const name of names) {
    try {
      await access(join(ROOT, BUNDLES[name]));
    } catch {
      missing.push(`${name}.mjs needs ${BUNDLES[name]}`);
    }
  }
  if (missing.length > 0) throw new Error(`cannot build, entry file missing: ${missing.join('; ')}`);

  await mkdir(outDir, { recursive: true });
  await rm(join(outDir, CHUNK_DIR), { recursive: true, force: true });
  const split = names.filter((name) => !STANDALONE.has(name));
  if (split.length > 0) {
    await build({
      entryPoints: {
        ...Object.fromEntries(split.map((name) => [name, join(ROOT, BUNDLES[name])])),
        // Worker threads' entry files, shipped with the chunks (their code finds them there).
        ...(split.includes('agent') ? WORKERS : {}),
      },
      outdir: outDir,
      splitting: true,
      chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
      outExtension: { '.js': '.mjs' },
      ...esbuildOptions(options.version),
    });
  }
  for (const name of names.filter((standalone) => STANDALONE.has(standalone))) {
    await bundleEntry({ entry: join(ROOT, BUNDLES[name]), outfile: join(outDir, `${name}.mjs`), version: options.version });
  }
  const outputs: Record<string, string> = {};
  for (const name of names) outputs[name] = join(outDir, `${name}.mjs`);
  // The hub serves the operator console from a `console/` directory beside its bundle.
  if (names.includes('tether')) outputs.console = await buildConsole(join(outDir, 'console'));
  return outputs;
}

/** The console's static files (Vite), into `outDir`; returns it. */
export async function buildConsole(outDir: string): Promise<string> {
  const consoleRoot = join(ROOT, 'console');
  // Vite is the console workspace's devDependency, resolved from there.
  const vitePath = createRequire(join(consoleRoot, 'package.json')).resolve('vite');
  const { build: viteBuild } = (await import(pathToFileURL(vitePath).href)) as { build(config: Record<string, unknown>): Promise<unknown> };
  await viteBuild({ root: consoleRoot, configFile: join(consoleRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** Shared chunks live here, beside the entry files; a release ships them with agent.mjs. */
export const CHUNK_DIR = 'chunks';

/** The chunk files of a build, relative to its output directory (e.g. `chunks/chunk-AB12CD.mjs`). */
export async function chunkFiles(outDir: string): Promise<string[]> {
  const names = await readdir(join(outDir, CHUNK_DIR)).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith('.mjs'))
    .sort()
    .map((name) => `${CHUNK_DIR}/${name}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { version: { type: 'string' }, out: { type: 'string' }, only: { type: 'string' } },
    strict: true,
  });
  const bundles = values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of bundles ?? []) {
    if (!Object.hasOwn(BUNDLES, name)) throw new Error(`--only: unknown bundle "${name}" (choose from ${Object.keys(BUNDLES).join(', ')})`);
  }
  const outputs = await buildBundles({ outDir: values.out, version: values.version, bundles: bundles as BundleName[] | undefined });
  for (const path of Object.values(outputs)) console.log(`built ${path}`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`build failed: ${(error as Error).message}`);
    process.exit(1);
  });
}
