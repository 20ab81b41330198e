// Which agent version runs, and the install flows around it (protocol.md section 7):
// - at start: finish interrupted work (rollback, trial, staged update, redeploy), then choose what
//   runs by the rules of choose-version.ts (the current installed version if it verifies, else the
//   highest installed one that does, or the base entry when that is newer);
// - exit 43: verify the staged release again, extract it afresh, switch `current`, start a trial;
// - trial: not ready in time, a fatal exit, or 3 crashes within the trial window → roll back,
//   mark the version bad, record the outcome for the agent to report;
// - exit 44: fetch the running version afresh from the hub, verify, reinstall it in place.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { cleanupStaging, clearBad, isBad, listInstalled, markBad, readBadVersions, readCurrent, removeVersion, switchCurrent, versionDir } from '@tether/shared/release/install.ts';
import { hostPlatform, MAX_MANIFEST_BYTES, releaseFileNames } from '@tether/shared/release/manifest.ts';
import { isValidVersion } from '@tether/shared/release/versions.ts';
import { checkComplete, downloadDir, downloadsDir, readRedeployRequest, readStaged, releaseRecordDir, removeRedeployRequest, removeStaged, writeOutcome } from '@tether/shared/release/state-files.ts';
import type { InstalledCheck } from '@tether/shared/release/state-files.ts';
import type { Logger } from '../logger.ts';
import { chooseVersion } from './choose-version.ts';
import type { VersionFacts } from './choose-version.ts';
import { trustedKeys } from './trusted-keys.ts';
import { readTrial, removeTrial, writeTrial } from './trial.ts';
import type { Trial } from './trial.ts';
import { fetchToFile } from './http-fetch.ts';
import { runReleaseTaskProcess } from './release-task-process.ts';
import type { SelfProgram } from './release-task-process.ts';
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
  /** This supervisor's own program, run again as `release-task` for the work needing node:crypto. */
  self: SelfProgram;
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
    if (removed.length > 0) this.#log.warn({ removed }, 'removed leftovers of an interrupted install');
    await this.#cleanDownloads();

    const trial = readTrial(stateDir);
    if (trial) {
      const current = await readCurrent(stateDir).catch(() => null);
      if (await isBad(stateDir, trial.to).catch(() => false)) {
        this.#trial = trial;
        this.#log.warn({ to: trial.to }, 'finishing an interrupted rollback');
        await this.rollback('rolled back before the supervisor restarted');
        return;
      }
      if (current === trial.to) {
        this.#trial = trial;
        this.#target = this.#installedTarget(trial.to);
        this.#log.warn({ from: trial.from_version, to: trial.to }, 'resuming the trial of a new version after a supervisor restart');
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

  /** Applies chooseVersion's rules (choose-version.ts), making the checks it asks for. */
  async #choose(): Promise<void> {
    const stateDir = this.#o.stateDir;
    const current = await readCurrent(stateDir).catch(() => null);
    const facts: VersionFacts = {
      current,
      currentExists: current !== null && existsSync(versionDir(stateDir, current)),
      installed: await listInstalled(stateDir),
      bad: new Set(Object.keys(await readBadVersions(stateDir).catch(() => ({})))),
      base: { version: this.#baseVersion(), candidate: !this.#baseInState(), explicit: this.#o.baseEntryExplicit },
    };
    const record = new Map<string, InstalledCheck>();
    const complete = new Map<string, boolean>();
    let keys: string[] | null = null;
    for (;;) {
      const step = chooseVersion(facts, { record, complete });
      if (step.kind === 'check-record') {
        keys ??= await trustedKeys(stateDir, this.#o.env);
        const check = await this.#checkInstalled(step.version, keys);
        record.set(step.version, check);
        if (!check.ok && !(check.unrecorded && step.version === current)) this.#log.warn({ version: step.version, problem: check.problem }, 'installed version does not verify');
        continue;
      }
      if (step.kind === 'check-complete') {
        const problem = await checkComplete(stateDir, step.version);
        complete.set(step.version, problem === null);
        if (problem !== null) this.#log.warn({ version: step.version, problem }, 'installed version does not verify');
        continue;
      }
      if (step.switchTo !== null) {
        await switchCurrent(stateDir, step.switchTo);
        this.#log.warn({ previous: current, version: step.switchTo }, 'current version is missing, bad or damaged; switched to the newest installed version that verifies');
      }
      if (step.reason === 'nothing-verifies-current-anyway') this.#log.error({ version: current }, 'no installed version verifies; running the current one anyway');
      this.#target = step.run.kind === 'base' ? this.#baseTarget() : this.#installedTarget(step.run.version);
      if (step.reason !== 'base-without-version') this.#log.info({ kind: this.#target.kind, version: this.#target.version, reason: step.reason }, 'version chosen');
      return;
    }
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
      this.#log.error({ problem: read.problem }, 'staged update is unusable; discarded');
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
      this.#log.error({ version: staged.version, reason }, 'staged update refused; staying on the running version');
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
    this.#log.info({ from: from.version, to: staged.version }, 'switched to the new version; on trial until it proves healthy');
  }

  /**
   * Verifies a release and installs it from the very bytes that verified (release-task.ts), in a
   * short-lived child: the hashing and signature checks need node:crypto, which the long-lived
   * supervisor never loads. Throws with the child's reason when it fails.
   */
  async #verifyAndStage(release: { version: string; manifestPath: string; signaturePath: string; tarballPath: string; replaceCurrent?: boolean }): Promise<void> {
    const result = await runReleaseTaskProcess(this.#o.self, {
      kind: 'verify-and-stage',
      stateDir: resolve(this.#o.stateDir),
      version: release.version,
      manifestPath: resolve(release.manifestPath),
      signaturePath: resolve(release.signaturePath),
      tarballPath: resolve(release.tarballPath),
      replaceCurrent: release.replaceCurrent ?? false,
      keys: await trustedKeys(this.#o.stateDir, this.#o.env),
    });
    if (!result.ok) throw new Error(result.error);
  }

  /** checkInstalled (state-files.ts) in a release-task child; a child that fails counts as a failed check. */
  async #checkInstalled(version: string, keys: string[]): Promise<InstalledCheck> {
    const result = await runReleaseTaskProcess(this.#o.self, { kind: 'check-installed', stateDir: resolve(this.#o.stateDir), version, keys });
    if (!result.ok) return { ok: false, unrecorded: false, problem: `version ${version} could not be checked: ${result.error}` };
    return result.check ?? { ok: false, unrecorded: false, problem: `version ${version} could not be checked: no result` };
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
    this.#log.info({ version: trial.to }, 'new version is ready');
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
    this.#log.info({ version: trial.to }, 'update confirmed: the new version stayed healthy through its trial');
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
        this.#log.info({ version }, 'removed an old version');
      } catch (error) {
        this.#log.warn({ version, err: error }, 'could not remove an old version');
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
    this.#log.error({ from: trial.to, to: trial.from_version, reason }, 'rolling back the new version');
    // First: whatever happens next, it is never retried. A failure here must not stop the rollback.
    await markBad(stateDir, trial.to, reason).catch((error: unknown) => {
      this.#log.error({ version: trial.to, err: error }, 'could not record the version as bad; rolling back anyway');
    });
    if (trial.from_kind === 'installed' && trial.from_version !== null) {
      await switchCurrent(stateDir, trial.from_version).catch((error: unknown) => {
        this.#log.error({ err: error }, 'could not switch back to the previous version');
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
      this.#log.error({ problem: request.problem }, 'redeploy request is unusable; discarded');
      await removeRedeployRequest(stateDir);
      return;
    }
    const version = request.version;
    const names = releaseFileNames(version, hostPlatform());
    const partial = downloadDir(stateDir, version, true);
    const base = `${request.releases_url}/${encodeURIComponent(version)}`;
    try {
      this.#log.info({ version, from: base }, 'redeploy: fetching the release afresh');
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
      this.#log.info({ version }, 'redeploy: reinstalled');
    } catch (error) {
      const reason = (error as Error).message;
      this.#log.error({ version, reason }, 'redeploy failed; keeping what is installed');
      await writeOutcome(stateDir, { from: version, to: version, outcome: 'failed', reason: `redeploy: ${reason}` }).catch(() => {});
    }
    await rm(partial, { recursive: true, force: true });
    await removeRedeployRequest(stateDir);
    await this.#choose();
  }
}
