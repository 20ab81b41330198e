// Which agent version runs, and the install flows around it (protocol.md section 7):
// - at start: finish interrupted work (rollback, trial, staged update, redeploy), then run the
//   current installed version if it verifies, else the highest installed one that does, or the
//   base entry (the image's / --agent-entry's agent) when that is newer;
// - exit 43: verify the staged release again, extract it afresh, switch `current`, start a trial;
// - trial: not ready in time, a fatal exit, or 3 crashes within the trial window → roll back,
//   mark the version bad, record the outcome for the agent to report;
// - exit 44: fetch the running version afresh from the hub, verify, reinstall it in place.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  cleanupStaging, clearBad, isBad, listInstalled, makePrivateCopyDir, markBad, readBadVersions, readCurrent, removeVersion,
  stageRelease, switchCurrent, versionDir,
} from '@tether/shared/release/install.ts';
import { hostPlatform, MAX_MANIFEST_BYTES, releaseFileNames } from '@tether/shared/release/manifest.ts';
import { verifyRelease } from '@tether/shared/release/verify.ts';
import { compareVersions, isValidVersion } from '@tether/shared/release/versions.ts';
import {
  checkComplete, checkInstalled, downloadDir, downloadsDir, readRedeployRequest, readStaged, recordInstalled,
  releaseRecordDir, removeRedeployRequest, removeStaged, writeOutcome,
} from '@tether/shared/release/state-files.ts';
import type { Logger } from '../logger.ts';
import { trustedKeys } from './trusted-keys.ts';
import { readTrial, removeTrial, writeTrial } from './trial.ts';
import type { Trial } from './trial.ts';
import { fetchToFile } from './http-fetch.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';

export interface RunTarget {
  kind: 'installed' | 'base';
  version: string | null;
  /** The agent entry file and the Node binary that runs it. */
  entry: string;
  runtime: string;
}

export interface VersionManagerOptions {
  stateDir: string;
  /** --agent-entry / TETHER_AGENT_ENTRY / agent.mjs beside supervisor.mjs / the checkout's. */
  baseEntry: string;
  baseEntryExplicit: boolean;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** How long a new version is on trial after its first ready; 3 crashes within it roll it back. */
  trialWindowMs: number;
}

export const CRASHES_FOR_ROLLBACK = 3;
const MAX_TARBALL_BYTES = 512 * 1024 * 1024;

export class VersionManager {
  #o: VersionManagerOptions;
  #log: Logger;
  #target: RunTarget;
  #trial: Trial | null = null;

  constructor(options: VersionManagerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#target = this.#baseTarget();
  }

  get target(): RunTarget {
    return this.#target;
  }

  get trial(): Trial | null {
    return this.#trial;
  }

  // ---- start ---------------------------------------------------------------------------------

  async prepare(): Promise<void> {
    const stateDir = this.#o.stateDir;
    const removed = await cleanupStaging(stateDir).catch(() => [] as string[]);
    if (removed.length > 0) this.#log.warn('removed leftovers of an interrupted install', { removed });
    await this.#cleanDownloads();

    const trial = readTrial(stateDir);
    if (trial) {
      const current = await readCurrent(stateDir).catch(() => null);
      if (await isBad(stateDir, trial.to).catch(() => false)) {
        this.#trial = trial;
        this.#log.warn('finishing an interrupted rollback', { to: trial.to });
        await this.rollback('rolled back before the supervisor restarted');
        return;
      }
      if (current === trial.to) {
        this.#trial = trial;
        this.#target = this.#installedTarget(trial.to);
        this.#log.warn('resuming the trial of a new version after a supervisor restart', { from: trial.from_version, to: trial.to });
      } else {
        removeTrial(stateDir); // the switch never happened
      }
    }
    if ((await readRedeployRequest(stateDir)) !== null) await this.redeploy();
    if ((await readStaged(stateDir)).state !== 'none') await this.applyStaged();
    if (this.#trial === null) await this.#choose();
  }

  /** Paths outside the state dir are the base (image / checkout); inside it, installed versions. */
  #baseInState(): boolean {
    const rel = relative(resolve(this.#o.stateDir), resolve(this.#o.baseEntry));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  }

  #baseVersion(): string | null {
    try {
      const version = readFileSync(join(dirname(this.#o.baseEntry), 'VERSION'), 'utf8').trim();
      return isValidVersion(version) ? version : null;
    } catch {
      return null;
    }
  }

  #baseTarget(): RunTarget {
    return { kind: 'base', version: this.#baseVersion(), entry: this.#o.baseEntry, runtime: process.execPath };
  }

  #installedTarget(version: string): RunTarget {
    const dir = versionDir(this.#o.stateDir, version);
    return { kind: 'installed', version, entry: join(dir, 'agent.mjs'), runtime: join(dir, 'bin', 'node') };
  }

  /** A version may run when its install record verifies; an unrecorded current one (deploy.sh) when complete. */
  async #usable(version: string, keys: string[], isCurrent: boolean): Promise<boolean> {
    const check = await checkInstalled(this.#o.stateDir, version, keys);
    if (check.ok) return true;
    if (check.unrecorded && isCurrent && (await checkComplete(this.#o.stateDir, version)) === null) return true;
    this.#log.warn('installed version does not verify', { version, problem: check.problem });
    return false;
  }

  async #choose(): Promise<void> {
    const stateDir = this.#o.stateDir;
    const base = this.#baseTarget();
    const baseIsCandidate = !this.#baseInState();
    const current = await readCurrent(stateDir).catch(() => null);
    if (baseIsCandidate && base.version === null && (this.#o.baseEntryExplicit || current === null)) {
      this.#target = base; // a checkout or a plain --agent-entry: nothing to choose from
      return;
    }
    const keys = await trustedKeys(stateDir, this.#o.env);
    const bad = await readBadVersions(stateDir).catch(() => ({}) as Record<string, unknown>);
    let chosen: RunTarget | null = null;
    if (current !== null && !Object.hasOwn(bad, current) && existsSync(versionDir(stateDir, current)) && (await this.#usable(current, keys, true))) {
      chosen = this.#installedTarget(current);
    }
    if (chosen === null) {
      for (const version of (await listInstalled(stateDir)).reverse()) {
        if (version === current || Object.hasOwn(bad, version)) continue;
        if (await this.#usable(version, keys, false)) {
          await switchCurrent(stateDir, version);
          this.#log.warn('current version is missing, bad or damaged; switched to the newest installed version that verifies', { previous: current, version });
          chosen = this.#installedTarget(version);
          break;
        }
      }
    }
    if (baseIsCandidate && base.version !== null && (chosen === null || compareVersions(base.version, chosen.version!) > 0)) {
      chosen = base; // e.g. a newer Docker image than the versions in the state volume
    }
    if (chosen === null && current !== null && (await checkComplete(stateDir, current)) === null) {
      this.#log.error('no installed version verifies; running the current one anyway', { version: current });
      chosen = this.#installedTarget(current);
    }
    this.#target = chosen ?? base;
    this.#log.info('version chosen', { kind: this.#target.kind, version: this.#target.version });
  }

  /** After an agent crash: an update it was staging is gone with it; remove what it left. */
  async cleanLeftovers(): Promise<void> {
    await cleanupStaging(this.#o.stateDir).catch(() => []);
    await this.#cleanDownloads().catch(() => {});
  }

  async #cleanDownloads(): Promise<void> {
    const dir = downloadsDir(this.#o.stateDir);
    const staged = await readStaged(this.#o.stateDir).catch(() => ({ state: 'none' }) as const);
    const keep = staged.state === 'staged' ? staged.staged.version : null;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name !== keep) await rm(join(dir, name), { recursive: true, force: true });
    }
  }

  // ---- exit 43: the staged update --------------------------------------------------------------

  async applyStaged(): Promise<void> {
    const stateDir = this.#o.stateDir;
    const read = await readStaged(stateDir);
    if (read.state === 'none') {
      this.#log.warn('agent exited 43 but nothing is staged; starting the current version again');
      return;
    }
    if (read.state === 'invalid') {
      this.#log.error('staged update is unusable; discarded', { problem: read.problem });
      await removeStaged(stateDir);
      return;
    }
    const staged = read.staged;
    const from = this.#target;
    const current = await readCurrent(stateDir).catch(() => null);
    if (current === staged.version && this.#trial?.to === staged.version) {
      await this.#discardStaged(staged.version); // switched already, the supervisor was killed right after
      return;
    }
    try {
      if (current === staged.version) throw new Error(`version ${staged.version} is already current`);
      await pauseForTest('supervisor:verify');
      // Check again what the agent checked, then extract afresh from the verified bytes: what runs
      // is exactly what was signed, whatever happens to the agent's download meanwhile.
      await this.#verifyAndStage({
        version: staged.version,
        manifestPath: staged.manifest,
        signaturePath: staged.signature,
        tarballPath: staged.tarball,
      });
    } catch (error) {
      const reason = (error as Error).message;
      this.#log.error('staged update refused; staying on the running version', { version: staged.version, reason });
      await writeOutcome(stateDir, { from: from.version ?? staged.from, to: staged.version, outcome: 'failed', reason }).catch(() => {});
      await this.#discardStaged(staged.version);
      if (current !== staged.version) await removeVersion(stateDir, staged.version).catch(() => {});
      return;
    }
    const trial: Trial = {
      from_kind: from.kind,
      from_version: from.version,
      to: staged.version,
      started_at: new Date().toISOString(),
      crashes: [],
      ready_at: null,
    };
    // Only an explicitly named version can be staged while marked bad: it gets a fresh trial, and
    // a supervisor restart during it must not mistake the old mark for an interrupted rollback.
    await clearBad(stateDir, staged.version).catch(() => {});
    writeTrial(stateDir, trial); // before the switch: a restart then knows a trial is on
    await writeOutcome(stateDir, { from: from.version ?? staged.from, to: staged.version, outcome: 'updated' });
    await pauseForTest('supervisor:switch');
    await switchCurrent(stateDir, staged.version);
    this.#trial = trial;
    this.#target = this.#installedTarget(staged.version);
    await this.#discardStaged(staged.version);
    this.#log.info('switched to the new version; on trial until it proves healthy', { from: from.version, to: staged.version });
  }

  /**
   * Verifies a release and installs it from the very bytes that verified: the tarball is copied
   * into a private directory while it is hashed, and tar reads that copy, never the original path
   * again (issue 9 item 16). Then the install record is written.
   */
  async #verifyAndStage(release: { version: string; manifestPath: string; signaturePath: string; tarballPath: string; replaceCurrent?: boolean }): Promise<void> {
    const stateDir = this.#o.stateDir;
    const privateDir = await makePrivateCopyDir(stateDir);
    try {
      const verified = await verifyRelease({
        manifestPath: release.manifestPath,
        signaturePath: release.signaturePath,
        tarballPath: release.tarballPath,
        trustedKeys: await trustedKeys(stateDir, this.#o.env),
        expectedVersion: release.version,
        expectedPlatform: hostPlatform(),
        privateCopyDir: privateDir,
      });
      await pauseForTest('supervisor:extract');
      await stageRelease(verified.tarballPath, stateDir, release.version, { replaceCurrent: release.replaceCurrent });
      await recordInstalled(stateDir, release.version, { manifest: verified.manifestBytes, signature: verified.signature });
    } finally {
      await rm(privateDir, { recursive: true, force: true });
    }
  }

  async #discardStaged(version: string): Promise<void> {
    await removeStaged(this.#o.stateDir);
    await rm(downloadDir(this.#o.stateDir, version), { recursive: true, force: true });
  }

  // ---- the trial -------------------------------------------------------------------------------

  /** The new version reported ready (recorded, so a resumed trial knows). */
  async trialReady(): Promise<void> {
    const trial = this.#trial;
    if (trial === null || trial.ready_at !== null) return;
    trial.ready_at = new Date().toISOString();
    writeTrial(this.#o.stateDir, trial);
    this.#log.info('new version is ready', { version: trial.to });
  }

  /** Counts a crash of the version on trial; true when it has crashed often enough to roll back. */
  trialCrashed(): boolean {
    const trial = this.#trial;
    if (trial === null) return false;
    const now = Date.now();
    trial.crashes = [...trial.crashes, now].filter((at) => now - at <= this.#o.trialWindowMs);
    writeTrial(this.#o.stateDir, trial);
    return trial.crashes.length >= CRASHES_FOR_ROLLBACK;
  }

  /** The version stayed up through its trial: it is the version now; older installs are pruned. */
  endTrial(prune = true): void {
    const trial = this.#trial;
    if (trial === null) return;
    this.#log.info('update confirmed: the new version stayed healthy through its trial', { version: trial.to });
    removeTrial(this.#o.stateDir);
    this.#trial = null;
    if (prune) void this.#prune([trial.to, trial.from_version]);
  }

  /**
   * Removes installed versions (and their records) except those kept: the current one, the one it
   * replaced (a manual way back), and the one this supervisor process itself runs from.
   */
  async #prune(keep: Array<string | null>): Promise<void> {
    const stateDir = this.#o.stateDir;
    const kept = new Set([...keep, this.#ownVersion(), await readCurrent(stateDir).catch(() => null)]);
    for (const version of await listInstalled(stateDir).catch(() => [] as string[])) {
      if (kept.has(version)) continue;
      try {
        await removeVersion(stateDir, version);
        await rm(releaseRecordDir(stateDir, version), { recursive: true, force: true });
        this.#log.info('removed an old version', { version });
      } catch (error) {
        this.#log.warn('could not remove an old version', { version, err: error });
      }
    }
  }

  /** The installed version whose supervisor.mjs is running this process, if any. */
  #ownVersion(): string | null {
    try {
      const self = realpathSync(fileURLToPath(import.meta.url));
      const rel = relative(realpathSync(join(resolve(this.#o.stateDir), 'versions')), self);
      const version = rel.split('/')[0] ?? '';
      return !rel.startsWith('..') && isValidVersion(version) ? version : null;
    } catch {
      return null;
    }
  }

  /** Marks the version on trial bad, switches back to the previous one and records why. */
  async rollback(reason: string): Promise<void> {
    const trial = this.#trial;
    if (trial === null) return;
    const stateDir = this.#o.stateDir;
    this.#log.error('rolling back the new version', { from: trial.to, to: trial.from_version, reason });
    // First: whatever happens next, it is never retried. A failure here must not stop the rollback.
    await markBad(stateDir, trial.to, reason).catch((error: unknown) => {
      this.#log.error('could not record the version as bad; rolling back anyway', { version: trial.to, err: error });
    });
    if (trial.from_kind === 'installed' && trial.from_version !== null) {
      await switchCurrent(stateDir, trial.from_version).catch((error: unknown) => {
        this.#log.error('could not switch back to the previous version', { err: error });
      });
    }
    await writeOutcome(stateDir, { from: trial.from_version ?? 'unknown', to: trial.to, outcome: 'rolled_back', reason }).catch(() => {});
    removeTrial(stateDir);
    this.#trial = null;
    await this.#choose();
  }

  // ---- exit 44: redeploy -----------------------------------------------------------------------

  async redeploy(): Promise<void> {
    const stateDir = this.#o.stateDir;
    const request = await readRedeployRequest(stateDir);
    if (request === null) {
      this.#log.warn('agent exited 44 but wrote no redeploy request; starting it again');
      return;
    }
    if ('problem' in request) {
      this.#log.error('redeploy request is unusable; discarded', { problem: request.problem });
      await removeRedeployRequest(stateDir);
      return;
    }
    const version = request.version;
    const names = releaseFileNames(version, hostPlatform());
    const partial = downloadDir(stateDir, version, true);
    const base = `${request.releases_url}/${encodeURIComponent(version)}`;
    try {
      this.#log.info('redeploy: fetching the release afresh', { version, from: base });
      await rm(partial, { recursive: true, force: true });
      await mkdir(partial, { recursive: true, mode: 0o700 });
      await fetchToFile(`${base}/${names.manifest}`, join(partial, names.manifest), MAX_MANIFEST_BYTES);
      await fetchToFile(`${base}/${names.signature}`, join(partial, names.signature), 4096);
      await fetchToFile(`${base}/${names.tarball}`, join(partial, names.tarball), MAX_TARBALL_BYTES);
      const current = await readCurrent(stateDir).catch(() => null);
      await this.#verifyAndStage({
        version,
        manifestPath: join(partial, names.manifest),
        signaturePath: join(partial, names.signature),
        tarballPath: join(partial, names.tarball),
        replaceCurrent: current === version,
      });
      if (current !== version) await switchCurrent(stateDir, version);
      await writeOutcome(stateDir, { from: version, to: version, outcome: 'redeployed' });
      this.#log.info('redeploy: reinstalled', { version });
    } catch (error) {
      const reason = (error as Error).message;
      this.#log.error('redeploy failed; keeping what is installed', { version, reason });
      await writeOutcome(stateDir, { from: version, to: version, outcome: 'failed', reason: `redeploy: ${reason}` }).catch(() => {});
    }
    await rm(partial, { recursive: true, force: true });
    await removeRedeployRequest(stateDir);
    await this.#choose();
  }
}
