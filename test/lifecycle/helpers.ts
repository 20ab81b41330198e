// Lifecycle test kit: real signed release tarballs (real esbuild bundles, the running Node binary
// as bin/node, gzip level 1 to save time), a real hub serving them, a native-style install
// (<state>/versions/<v>, <state>/current) and the release's own supervisor.mjs running the agent.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildBundles } from '../../scripts/build.ts';
import { buildRelease } from '../../scripts/release.ts';
import type { ReleaseArtifact } from '../../scripts/release.ts';
import { generateReleaseKeyPair } from '../../shared/src/release/signing.ts';
import { stageRelease, switchCurrent } from '../../shared/src/release/install.ts';
import { recordInstalled, writePinnedKeys } from '../../shared/src/release/state-files.ts';
import { command, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { REPO_ROOT, startProcess, waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';

const run = promisify(execFile);
export const HUB_CLI = join(REPO_ROOT, 'hub/src/cli/main.ts');

export interface ReleaseKey {
  dir: string;
  privateKeyPath: string;
  publicKey: string;
}

export async function makeReleaseKey(dir: string): Promise<ReleaseKey> {
  const files = await generateReleaseKeyPair(dir);
  return { dir, privateKeyPath: files.privateKeyPath, publicKey: files.publicKey };
}

/** Agents that misbehave in one specific way, shipped as a release's agent.mjs. */
export const BAD_AGENTS = {
  'exits-1': "console.error('bad agent: exiting 1 at start'); process.exit(1);\n",
  'never-ready': "console.error('bad agent: running, never ready'); setInterval(() => {}, 1000); process.on('disconnect', () => process.exit(0));\n",
  'exits-99': "console.error('bad agent: exiting 99'); process.exit(99);\n",
  'crash-after-ready': "process.send?.({ type: 'ready' }); console.error('bad agent: ready, crashing soon'); setTimeout(() => process.exit(1), 300);\n",
} as const;

export type BadAgent = keyof typeof BAD_AGENTS;

/** Builds one signed linux release into outDir: real bundles of this checkout, or a bad agent. */
export async function buildTestRelease(options: { version: string; key: ReleaseKey; outDir: string; bad?: BadAgent; work: string }): Promise<ReleaseArtifact> {
  const bundleDir = join(options.work, `bundles-${options.version}`);
  const bundles = await buildBundles({ outDir: bundleDir, version: options.version, bundles: options.bad ? ['supervisor', 'manager'] : ['agent', 'supervisor', 'manager'] });
  if (options.bad) {
    bundles.agent = join(bundleDir, 'agent.mjs');
    await writeFile(bundles.agent, BAD_AGENTS[options.bad]);
  }
  const [artifact] = await buildRelease({
    version: options.version,
    keyPath: options.key.privateKeyPath,
    outDir: options.outDir,
    platforms: [`${process.platform}-${process.arch}`],
    nodeBinary: process.execPath,
    gzipLevel: 1,
    bundles: { agent: bundles.agent!, supervisor: bundles.supervisor!, manager: bundles.manager! },
    log: () => {},
  });
  return artifact!;
}

/** `tether hub publish <dir> --data-dir <hub data>`; returns the CLI's exit code and output. */
export async function publish(releaseDir: string, dataDir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB_CLI, 'hub', 'publish', releaseDir, '--data-dir', dataDir]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** Copies one artifact's three files into a directory of its own (one release per publish). */
export async function releaseDirOf(artifact: ReleaseArtifact, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const path of [artifact.tarballPath, artifact.manifestPath, artifact.signaturePath]) {
    await copyFile(path, join(dir, path.slice(path.lastIndexOf('/') + 1)));
  }
  return dir;
}

/** What deploy.sh does for a native install: unpack, switch `current`, pin the release key. */
export async function installNative(stateDir: string, artifact: ReleaseArtifact, publicKey: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await stageRelease(artifact.tarballPath, stateDir, artifact.manifest.version);
  await recordInstalled(stateDir, artifact.manifest.version, { manifest: await readFile(artifact.manifestPath), signature: await readFile(artifact.signaturePath, 'utf8') });
  await switchCurrent(stateDir, artifact.manifest.version);
  await writePinnedKeys(stateDir, [publicKey]);
}

export const AGENT_ALLOW = ['ping', 'echo', 'info', 'capabilities', 'update', 'redeploy'];

export interface Host {
  stateDir: string;
  keyId: string;
  env: NodeJS.ProcessEnv;
  supervisor: RunningProcess;
  /** Starts the installed supervisor (<state>/current/supervisor.mjs) again, e.g. after kill -9. */
  restartSupervisor(env?: NodeJS.ProcessEnv): RunningProcess;
}

export interface SupervisorFlags {
  updateGraceS?: number;
  updateTrialS?: number;
  /** More environment for the supervisor (and so the agent), e.g. TETHER_TEST_PAUSE_AT. */
  env?: NodeJS.ProcessEnv;
}

export function supervisorArgs(stateDir: string, flags: SupervisorFlags = {}): string[] {
  return [
    join(stateDir, 'current', 'supervisor.mjs'),
    'run',
    '--state-dir',
    stateDir,
    '--agent-entry',
    join(stateDir, 'current', 'agent.mjs'),
    '--update-grace-s',
    String(flags.updateGraceS ?? 20),
    '--update-trial-s',
    String(flags.updateTrialS ?? 30),
    '--stop-grace-s',
    '3',
  ];
}

/** A host with the given release installed natively, its supervisor running, connected to the hub. */
export async function startHost(hub: HubHandle, dir: string, artifact: ReleaseArtifact, publicKey: string, flags: SupervisorFlags = {}, waitForRegistration = true): Promise<Host> {
  const stateDir = join(dir, 'state');
  await installNative(stateDir, artifact, publicKey);
  const key = await hub.createKey(`host-${Math.random().toString(36).slice(2, 8)}`, AGENT_ALLOW);
  const configPath = join(dir, 'agent.yaml');
  await writeFile(configPath, `allow: [${AGENT_ALLOW.join(', ')}]\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    TETHER_SERVER_URL: hub.wsUrl,
    TETHER_API_KEY: key.key,
    TETHER_STATE_DIR: stateDir,
    TETHER_CONFIG: configPath,
    TETHER_LOG_LEVEL: 'info',
    TETHER_SUPERVISOR_BACKOFF_BASE_MS: '300',
    TETHER_AGENT_ENTRY: '',
    TETHER_RELEASE_KEYS: '',
    ...flags.env,
  };
  const host: Host = {
    stateDir,
    keyId: key.id,
    env,
    supervisor: startProcess(supervisorArgs(stateDir, flags), { env }),
    restartSupervisor(override) {
      host.supervisor = startProcess(supervisorArgs(stateDir, flags), { env: { ...env, ...override } });
      return host.supervisor;
    },
  };
  if (waitForRegistration) await waitForAgent(hub, key.id, 60_000);
  return host;
}

export async function currentVersion(stateDir: string): Promise<string | null> {
  const { readCurrent } = await import('../../shared/src/release/install.ts');
  return readCurrent(stateDir);
}

export async function supervisorStatus(stateDir: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(stateDir, 'supervisor.json'), 'utf8'));
}

/** Pings through the hub until the agent answers with the expected version (info) and pong. */
export async function waitServing(hub: HubHandle, keyId: string, version: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      const info = await command(hub, keyId, 'info', {}, 5);
      if (info.body?.result?.data?.version !== version) return false;
      const ping = await command(hub, keyId, 'ping', {}, 5);
      return ping.body?.result?.data?.message === 'pong';
    },
    `agent of key ${keyId} serving commands as version ${version}`,
    timeoutMs,
    300,
  );
}

/** The register data the hub last stored for this key's agent (to see update_outcome). */
export async function lastRegistration(hub: HubHandle, keyId: string): Promise<Record<string, any> | undefined> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(hub.dataDir, 'hub.sqlite'), { readOnly: true });
  try {
    const row = db.prepare('SELECT register_data FROM agents WHERE key_id = ? ORDER BY last_seen DESC LIMIT 1').get(keyId) as { register_data?: string } | undefined;
    return row?.register_data ? (JSON.parse(row.register_data) as Record<string, any>) : undefined;
  } finally {
    db.close();
  }
}

export { command, startHub, tempDir, waitFor };
