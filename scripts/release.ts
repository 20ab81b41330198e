// `npm run release -- --version V --key PRIVATE_KEY_PEM --out DIR [--platforms linux-x64,linux-arm64]`
//   [--node-binary PATH] [--gzip-level 1-9] (local builds and tests: this Node, faster gzip)
// Per platform: tether-agent-<v>-<platform>.tar.gz holding tether-agent-<v>/{bin/node, agent.mjs,
// supervisor.mjs, manager.mjs, chunks/, deploy.sh, VERSION}, its manifest .json and the manifest's
// Ed25519 signature .json.sig.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { create as createTar } from 'tar';
import { buildBundles, chunkFiles, CHUNK_DIR } from './build.ts';
import { releaseFileNames, serializeManifest } from '../shared/src/release/manifest.ts';
import type { ReleaseManifest } from '../shared/src/release/manifest.ts';
import { readPrivateKey, signManifest } from '../shared/src/release/signing.ts';
import { sha256OfFile, verifyRelease } from '../shared/src/release/verify.ts';
import { isValidVersion } from '../shared/src/release/versions.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
/** linux-x64 is required; the others are built when their Node runtime package can be fetched. */
const REQUIRED_PLATFORMS = ['linux-x64'];
const DEFAULT_PLATFORMS = ['linux-x64', 'linux-arm64'];
/** Every entry gets this mtime, so the same inputs give the same tarball bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

export interface ReleaseOptions {
  version: string;
  /** Path of the PKCS#8 PEM Ed25519 release private key. */
  keyPath: string;
  outDir: string;
  platforms?: readonly string[];
  /** Node runtime version; default the root package.json's `node` devDependency. */
  nodeVersion?: string;
  /** Prebuilt bundles (one build, chunks beside agent.mjs); default: built now with the release version compiled in. */
  bundles?: { agent: string; supervisor: string; manager: string };
  /**
   * A Node binary to put in bin/node for every platform instead of fetching node-<platform> with
   * npm pack (tests and local builds: pass process.execPath; only right for the host's platform).
   */
  nodeBinary?: string;
  /** gzip level of the tarball, 1-9 (default 9; tests use 1 to save time). */
  gzipLevel?: number;
  log?: (line: string) => void;
}

export interface ReleaseArtifact {
  platform: string;
  manifest: ReleaseManifest;
  tarballPath: string;
  manifestPath: string;
  signaturePath: string;
}

/** The Node version pinned by the root package.json (`devDependencies.node`). */
export async function pinnedNodeVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  const version = pkg.devDependencies?.node;
  if (!version || !isValidVersion(version)) throw new Error('package.json devDependencies.node must pin an exact Node version (e.g. "24.9.0")');
  return version;
}

/** Fetches the Node runtime binary of one platform with `npm pack node-<platform>@<version>`. */
export async function fetchNodeBinary(platform: string, nodeVersion: string, workDir: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, `node-${platform}-`));
  const spec = `node-${platform}@${nodeVersion}`;
  try {
    await run('npm', ['pack', spec, '--pack-destination', dir, '--loglevel=error'], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const detail = String((error as { stderr?: string }).stderr ?? (error as Error).message)
      .trim()
      .split('\n')
      .filter((line) => !/complete log/.test(line))
      .slice(-2)
      .join('; ');
    throw new Error(`cannot fetch the Node runtime (npm pack ${spec}): ${detail}`);
  }
  const packed = join(dir, `node-${platform}-${nodeVersion}.tgz`);
  await run('tar', ['-x', '-z', `--file=${packed}`, '-C', dir, 'package/bin/node']);
  await rm(packed, { force: true });
  return join(dir, 'package', 'bin', 'node');
}

/**
 * Writes a gzip tarball of `<stageRoot>/<topDirectory>` with entries sorted, portable headers (no
 * owners, no host-specific fields) and one fixed mtime: the same inputs give the same bytes.
 */
export async function writeDeterministicTarball(stageRoot: string, topDirectory: string, files: readonly string[], outFile: string, gzipLevel = 9): Promise<void> {
  const directories = new Set<string>([topDirectory]);
  for (const file of files) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) directories.add([topDirectory, ...parts.slice(0, i)].join('/'));
  }
  const entries = [...directories, ...files.map((file) => `${topDirectory}/${file}`)].sort();
  await createTar({ file: outFile, cwd: stageRoot, gzip: { level: gzipLevel }, portable: true, mtime: FIXED_MTIME, noDirRecurse: true, strict: true }, entries);
}

/** Builds, packs, hashes and signs the release for every platform; returns what was written. */
export async function buildRelease(options: ReleaseOptions): Promise<ReleaseArtifact[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (!isValidVersion(options.version)) throw new Error(`--version "${options.version}" is not semver (e.g. 1.4.0)`);
  const key = await readPrivateKey(options.keyPath);
  const nodeVersion = options.nodeVersion ?? (await pinnedNodeVersion());
  const platforms = options.platforms ?? DEFAULT_PLATFORMS;
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'tether-release-'));
  try {
    const bundles = options.bundles ?? (await buildBundles({ outDir: join(work, 'dist'), version: options.version, bundles: ['agent', 'supervisor', 'manager'] }));
    const artifacts: ReleaseArtifact[] = [];
    for (const platform of platforms) {
      let nodeBinary: string;
      try {
        nodeBinary = options.nodeBinary ?? (await fetchNodeBinary(platform, nodeVersion, work));
      } catch (error) {
        if (REQUIRED_PLATFORMS.includes(platform)) throw error;
        log(`skipping ${platform}: ${(error as Error).message}`);
        continue;
      }
      const names = releaseFileNames(options.version, platform);
      const stageRoot = join(work, `stage-${platform}`);
      const top = join(stageRoot, names.directory);
      await mkdir(join(top, 'bin'), { recursive: true });
      await copyFile(nodeBinary, join(top, 'bin', 'node'));
      await chmod(join(top, 'bin', 'node'), 0o755);
      await copyFile(bundles.agent!, join(top, 'agent.mjs'));
      await copyFile(bundles.supervisor!, join(top, 'supervisor.mjs'));
      await copyFile(bundles.manager!, join(top, 'manager.mjs'));
      // The bootstrap that installed copies manage themselves with (PREFIX/tether.sh).
      await copyFile(join(ROOT, 'deploy.sh'), join(top, 'deploy.sh'));
      await chmod(join(top, 'deploy.sh'), 0o755);
      // The entry files import their shared chunks by relative path: ship them alongside.
      const chunks = await chunkFiles(dirname(bundles.agent!));
      await mkdir(join(top, CHUNK_DIR), { recursive: true });
      for (const chunk of chunks) await copyFile(join(dirname(bundles.agent!), chunk), join(top, chunk));
      await writeFile(join(top, 'VERSION'), `${options.version}\n`);
      for (const file of ['agent.mjs', 'supervisor.mjs', 'manager.mjs', 'VERSION', ...chunks]) await chmod(join(top, file), 0o644);
      for (const dir of [top, join(top, 'bin'), join(top, CHUNK_DIR)]) await chmod(dir, 0o755);

      const tarballPath = join(outDir, names.tarball);
      const partial = `${tarballPath}.partial`;
      await writeDeterministicTarball(stageRoot, names.directory, ['VERSION', 'agent.mjs', 'bin/node', ...chunks, 'deploy.sh', 'manager.mjs', 'supervisor.mjs'].sort(), partial, options.gzipLevel);
      await rename(partial, tarballPath);

      const manifest: ReleaseManifest = {
        version: options.version,
        platform,
        arch: platform.slice(platform.indexOf('-') + 1),
        sha256: await sha256OfFile(tarballPath),
        size: (await stat(tarballPath)).size,
        key_id: key.keyId,
      };
      const manifestText = serializeManifest(manifest);
      const manifestPath = join(outDir, names.manifest);
      const signaturePath = join(outDir, names.signature);
      await writeFile(manifestPath, manifestText);
      await writeFile(signaturePath, signManifest(key.privateKeyPem, manifestText));
      // Check the result the way agents and supervisors will, before anyone downloads it.
      await verifyRelease({ manifestPath, signaturePath, tarballPath, trustedKeys: [key.publicKey], expectedVersion: options.version });
      log(`${names.tarball}: ${manifest.size} bytes, sha256 ${manifest.sha256}, signed by key ${key.keyId}`);
      artifacts.push({ platform, manifest, tarballPath, manifestPath, signaturePath });
    }
    return artifacts;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      platforms: { type: 'string' },
      'node-version': { type: 'string' },
      'node-binary': { type: 'string' },
      'gzip-level': { type: 'string' },
    },
    strict: true,
  });
  const usage = 'usage: npm run release -- --version V --key PRIVATE_KEY_PEM --out DIR [--platforms linux-x64,linux-arm64] [--node-version N] [--node-binary PATH] [--gzip-level 1-9]';
  if (!values.version || !values.key || !values.out) throw new Error(`--version, --key and --out are required\n${usage}`);
  const platforms = values.platforms
    ?.split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const gzipLevel = values['gzip-level'] === undefined ? undefined : Number(values['gzip-level']);
  if (gzipLevel !== undefined && !(Number.isInteger(gzipLevel) && gzipLevel >= 1 && gzipLevel <= 9)) throw new Error(`--gzip-level must be a whole number from 1 (fast) to 9 (small)\n${usage}`);
  const artifacts = await buildRelease({
    version: values.version,
    keyPath: values.key,
    outDir: values.out,
    platforms,
    nodeVersion: values['node-version'],
    nodeBinary: values['node-binary'],
    gzipLevel,
  });
  console.log(`release ${values.version}: ${artifacts.map((a) => a.platform).join(', ')} written to ${resolve(values.out)}`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`release failed: ${(error as Error).message}`);
    process.exit(1);
  });
}
