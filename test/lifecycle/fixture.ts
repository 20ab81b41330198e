// One hub with signed releases for a lifecycle test file: builds the named releases once, writes
// the hub's trusted release key, publishes the ones asked for, and cleans everything up.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseArtifact } from '../../scripts/release.ts';
import { buildTestRelease, makeReleaseKey, publish, releaseDirOf, startHost, tempDir, startHub } from './helpers.ts';
import type { BadAgent, Host, ReleaseKey, SupervisorFlags } from './helpers.ts';
import type { HubHandle } from '../helpers/system.ts';
import { downloadsDir } from '../../shared/src/release/state-files.ts';
import { versionsDir } from '../../shared/src/release/install.ts';

export interface Fixture {
  dir: string;
  key: ReleaseKey;
  hub: HubHandle;
  hubData: string;
  releases: Record<string, ReleaseArtifact>;
  /** A fresh host (own state dir, key and supervisor) running `version`, stopped after the file. */
  host(version: string, flags?: SupervisorFlags, options?: { stateDirSetup?: (stateDir: string) => Promise<void> }): Promise<Host>;
  restartHub(): Promise<void>;
  /** Stops every host and the hub, removes the temp dir (call from a top-level after()). */
  cleanup(): Promise<void>;
}

export async function setUpFixture(options: { build: Array<{ version: string; bad?: BadAgent }>; publish: string[]; hubArgs?: string[] }): Promise<Fixture> {
  const temp = await tempDir('lifecycle');
  const cleanups: Array<() => Promise<unknown>> = [];
  const key = await makeReleaseKey(join(temp.path, 'keys'));
  const out = join(temp.path, 'releases');
  const releases: Record<string, ReleaseArtifact> = {};
  for (const release of options.build) {
    releases[release.version] = await buildTestRelease({ version: release.version, key, outDir: out, bad: release.bad, work: temp.path });
  }
  const hubData = join(temp.path, 'hub');
  await mkdir(hubData, { recursive: true, mode: 0o700 });
  await writeFile(join(hubData, 'release-keys'), `# test release key\n${key.publicKey}\n`);
  for (const version of options.publish) {
    const result = await publish(await releaseDirOf(releases[version]!, join(temp.path, `publish-${version}`)), hubData);
    if (result.code !== 0) throw new Error(`publish ${version} failed: ${result.output}`);
  }
  const fixture: Fixture = {
    dir: temp.path,
    key,
    hub: await startHub({ dataDir: hubData, args: options.hubArgs }),
    hubData,
    releases,
    async host(version, flags, hostOptions) {
      const dir = join(temp.path, `host-${Math.random().toString(36).slice(2, 8)}`);
      await mkdir(join(dir, 'state'), { recursive: true });
      await hostOptions?.stateDirSetup?.(join(dir, 'state'));
      const host = await startHost(fixture.hub, dir, releases[version]!, key.publicKey, flags);
      cleanups.push(async () => {
        await host.supervisor.stop('SIGTERM', 10_000);
        await rm(dir, { recursive: true, force: true });
      });
      return host;
    },
    async restartHub() {
      await fixture.hub.stop();
      fixture.hub = await startHub({ dataDir: hubData, port: fixture.hub.port, args: options.hubArgs });
    },
    async cleanup() {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await temp.remove();
    },
  };
  cleanups.push(() => fixture.hub.stop());
  return fixture;
}

/** Names of in-progress or half-done install files in a state dir: must be empty after any failure. */
export async function leftovers(stateDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(downloadsDir(stateDir)).catch(() => [] as string[])) found.push(`downloads/${name}`);
  for (const name of await readdir(versionsDir(stateDir)).catch(() => [] as string[])) {
    if (name.includes('.staging') || name.includes('.trash-') || name.startsWith('.verified-')) found.push(`versions/${name}`);
  }
  for (const name of await readdir(stateDir).catch(() => [] as string[])) {
    if (name === 'staged.json' || name === 'redeploy.json' || name === 'update-trial.json' || (name.startsWith('.current.') && name.endsWith('.tmp'))) found.push(name);
  }
  return found;
}
