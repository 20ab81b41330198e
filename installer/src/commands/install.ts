// `install` (a first install, a re-install, or --update): deploy.sh has downloaded the release and
// verified it in shell, and runs this program from the verified release. Every check comes before
// the first change, and a failure before the end undoes what this run created.
//
// Root installs keep apart what root runs or trusts and what the service user may write:
//   root's:         PREFIX, lib/ (this release), release-keys.pub, install.env, tether.sh, logs/, the unit
//   the service's:  state/ (written only by the state side, run as that user) and agent.yaml (0600)
import { constants } from 'node:fs';
import { copyFile, chmod, lstat, mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { badVersionsPath, parseBadVersions, versionDir } from '@tether/shared/release/install.ts';
import { parseKeyList } from '@tether/shared/release/state-files.ts';
import { ReleaseVerificationError, verifyRelease } from '@tether/shared/release/verify.ts';
import { writeAgentConfig } from '../agent-config.ts';
import { writeBootstrapScript } from '../bootstrap-script.ts';
import { addRebootEntry, removeRebootEntry } from '../crontab.ts';
import { writeInstallRecord } from '../install-record.ts';
import { loadInstalled } from '../installed.ts';
import { layoutOf } from '../layout.ts';
import type { Layout } from '../layout.ts';
import { ManagerError, say, warn } from '../output.ts';
import { lastLine, run, serviceEnv } from '../processes.ts';
import { stageProgramTree, switchProgramTree, unstageProgramTree } from '../program-tree.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { checkRootOwned, isRoot, readPlainFile } from '../safe-files.ts';
import { chooseServiceKind, isRunning, stopService, systemctl, unitPathFor } from '../service.ts';
import type { Service } from '../service.ts';
import { asUser, checkReachable, createServiceUser, lookupUser, removeServiceUser, SERVICE_USER } from '../service-user.ts';
import type { ServiceUser } from '../service-user.ts';
import { stateInstallResultSchema } from '../state-install.ts';
import type { StateInstallResult } from '../state-install.ts';
import { readSupervisorStatus, installedVersion } from '../supervisor-report.ts';
import { renderUnit } from '../systemd-unit.ts';
import { Undo } from '../undo.ts';
import { startAndWait } from './control.ts';

export interface InstallOptions {
  prefix: string;
  /** This host's release platform, as the bootstrap detected it. */
  platform: string;
  tarball: string;
  manifest: string;
  signature: string;
  /** The release keys the bootstrap verified with, one base64 key per line. */
  releaseKeysFile: string;
  name: string;
  server: string | null;
  apiKey: string | null;
  allow: string[] | null;
  /** --version V: the release was named explicitly (installs a version this host rolled back). */
  requestedVersion: string | null;
  /** The hub's command-signing key, pinned as signing.public_key. */
  signingKey: string | null;
  /** --update: the install exists; keep its configuration. */
  update: boolean;
  /** Print the systemd unit this install would write; change nothing. */
  dryRun: boolean;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** mkdir -p that registers the topmost directory it created for undo. */
async function makeDirectory(dir: string, mode: number, undo: Undo): Promise<void> {
  let top: string | null = null;
  for (let probe = dir; !(await exists(probe)); probe = dirname(probe)) top = probe;
  await mkdir(dir, { recursive: true, mode });
  await chmod(dir, mode);
  if (top !== null) undo.add(top, () => rm(top, { recursive: true, force: true }));
}

/** Writes a root-owned file; a new one is removed again on undo. */
async function writeTracked(path: string, undo: Undo, write: () => Promise<unknown>): Promise<void> {
  const existed = await exists(path);
  await write();
  if (!existed) undo.add(path, () => rm(path, { force: true }));
}

async function verifyAgain(options: InstallOptions, keys: string[]) {
  try {
    return await verifyRelease({
      manifestPath: options.manifest,
      signaturePath: options.signature,
      tarballPath: options.tarball,
      trustedKeys: keys,
      expectedPlatform: options.platform,
      expectedVersion: options.requestedVersion ?? undefined,
    });
  } catch (error) {
    if (error instanceof ReleaseVerificationError) throw new ManagerError(`the release does not verify: ${error.message}; refusing to install`);
    throw error;
  }
}

/** The state dir exists, is a directory, is 0700 and belongs to the service user. */
async function prepareStateDir(layout: Layout, user: ServiceUser | null, undo: Undo): Promise<void> {
  if (!(await exists(layout.stateDir))) {
    await mkdir(layout.stateDir, { mode: 0o700 });
    undo.add(layout.stateDir, () => rm(layout.stateDir, { recursive: true, force: true }));
  }
  const info = await lstat(layout.stateDir);
  if (!info.isDirectory()) throw new ManagerError(`${layout.stateDir} is not a directory; move it away and install again`);
  if (user !== null && info.uid !== user.uid) {
    // A state dir of an earlier install that ran as root, or as a since recreated user: hand it over.
    // -P: symlinks inside are changed themselves, never followed.
    const result = await run('chown', ['-R', '-P', `${user.uid}:${user.gid}`, layout.stateDir]);
    if (result.code !== 0) throw new ManagerError(`cannot hand ${layout.stateDir} to ${user.name} (chown: ${lastLine(result)})`);
  }
  await chmod(layout.stateDir, 0o700);
}

/**
 * Runs the state side (state-install.ts) as the service user, with the manager of the lib/ copy
 * (root-owned), on a root-owned copy of the tarball that user can read but not change.
 */
async function installIntoStateAsUser(layout: Layout, user: ServiceUser | null, version: string, tarball: string, clearBadMark: boolean): Promise<StateInstallResult> {
  const incoming = await mkdtemp(join(layout.prefix, '.incoming-'));
  try {
    await chmod(incoming, 0o755);
    const copy = join(incoming, 'release.tar.gz');
    await copyFile(tarball, copy);
    await chmod(copy, 0o644);
    const release = versionDir(layout.libDir, version);
    const [file, ...args] = asUser(user, [
      join(release, 'bin', 'node'),
      join(release, 'manager.mjs'),
      'state-install',
      '--prefix',
      layout.prefix,
      '--version',
      version,
      '--tarball',
      copy,
      ...(clearBadMark ? ['--clear-bad-mark'] : []),
    ]);
    const result = await run(file!, args, { env: serviceEnv({ HOME: user?.home ?? process.env.HOME ?? '/' }) });
    if (result.code !== 0) throw new ManagerError(`installing ${version} into ${layout.stateDir} failed: ${lastLine(result).replace(/^tether: error: /, '')}`);
    const answer = stateInstallResultSchema.safeParse(JSON.parse(result.stdout.trim().split('\n').at(-1) ?? 'null'));
    if (!answer.success) throw new ManagerError(`installing ${version} into ${layout.stateDir}: unexpected answer from the state side`);
    return answer.data;
  } finally {
    await rm(incoming, { recursive: true, force: true });
  }
}

async function installUnit(service: Service, undo: Undo): Promise<void> {
  await mkdir(dirname(service.unitPath), { recursive: true });
  const scope = service.kind === 'systemd' ? 'system' : 'user';
  await writeTracked(service.unitPath, undo, () =>
    writeFileAtomic(service.unitPath, renderUnit({ name: service.name, layout: service.layout, scope, user: service.user?.name ?? null }), { mode: 0o644 }),
  );
  undo.add('systemctl daemon-reload', () => systemctl(service, ['daemon-reload']));
  for (const args of [['daemon-reload'], ['enable', `${service.name}.service`]]) {
    const result = await systemctl(service, args);
    if (result.code !== 0) throw new ManagerError(`systemctl ${args.join(' ')} failed: ${result.detail}`);
  }
}

/** An update keeps agent.yaml as it is, but the agent must be able to read it (a root install of the bash-only deploy.sh ran as root). */
async function handOver(path: string, owner: { uid: number; gid: number }): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!(await handle.stat()).isFile()) throw new ManagerError(`${path} is not a regular file; move it away and install again`);
    await handle.chown(owner.uid, owner.gid);
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

/** Versions this host rolled back, read as data (the service user writes the file). */
async function badVersions(layout: Layout): Promise<Record<string, unknown>> {
  const path = badVersionsPath(layout.stateDir);
  const text = await readPlainFile(path, 1024 * 1024);
  return text === null ? {} : parseBadVersions(text, path);
}

export async function installCommand(options: InstallOptions): Promise<number> {
  process.umask(0o022);
  const layout = layoutOf(options.prefix);
  const keys = parseKeyList(await readFile(options.releaseKeysFile, 'utf8'));
  const verified = await verifyAgain(options, keys);
  const version = verified.manifest.version;

  const installed = await loadInstalled(options.prefix);
  if (options.update && installed === null) throw new ManagerError(`no native tether install at ${options.prefix}; pass --prefix DIR, or install with --key KEY`);
  const kind = installed?.record.service ?? (await chooseServiceKind());
  const name = installed?.record.name ?? options.name;
  const userName = isRoot() ? installed?.record.user || SERVICE_USER : null;
  const service: Service = {
    kind,
    name,
    unitPath: installed?.record.unit || unitPathFor(kind, name),
    layout,
    user: userName === null ? null : await lookupUser(userName),
  };
  if (options.dryRun) {
    const scope = isRoot() ? 'system' : 'user';
    process.stdout.write(renderUnit({ name, layout, scope, user: userName }));
    return 0;
  }
  const server = options.server ?? installed?.record.server ?? '';
  if (server === '') throw new ManagerError(`no hub URL for ${options.prefix}: install with --key KEY --server URL`);
  if (!options.update && options.apiKey === null) throw new ManagerError('missing --key KEY: pass the agent key from `tether keys create` (or set TETHER_API_KEY)');
  if (options.update && !(await exists(layout.config))) throw new ManagerError(`${layout.config} is missing; install again with --key KEY`);

  const before = await installedVersion(layout);
  // An install of the bash-only deploy.sh (no lib/, or a root install that ran as root) is
  // migrated by any update, even to the version it runs.
  const current = options.update && before === version && (await exists(layout.libCurrent)) && (userName === null || service.user !== null);
  let clearBadMark = false;
  if (!current && Object.hasOwn(await badVersions(layout), version)) {
    if (options.requestedVersion !== version) {
      throw new ManagerError(`release ${version} was rolled back on this host (see ${badVersionsPath(layout.stateDir)} and --logs); install it anyway with --version ${version}`);
    }
    clearBadMark = true;
  }

  const undo = new Undo();
  const wasRunning = installed !== null && (await isRunning(service));
  try {
    await makeDirectory(layout.prefix, 0o755, undo);
    await checkRootOwned(options.prefix, [layout.prefix]);
    const staged = await stageProgramTree(layout, { version, tarball: options.tarball, manifestBytes: verified.manifestBytes, signature: verified.signature }, keys);
    if (staged.extracted) undo.add(`${layout.libDir}/versions/${version}`, () => unstageProgramTree(layout, version));
    if (current) {
      await switchProgramTree(layout, version);
      undo.forget();
      say(`already on ${version}`);
      if (!wasRunning) await startAndWait(service);
      return 0;
    }

    let createdUser = installed?.record.created_user ?? '';
    if (userName !== null && service.user === null) {
      service.user = await createServiceUser(userName, layout.stateDir);
      createdUser = userName;
      const created = userName;
      undo.add(`the service user ${created}`, () => removeServiceUser(created));
    }
    if (service.user !== null) await checkReachable(service.user, join(versionDir(layout.libDir, version), 'manager.mjs'));
    // Nothing of the old version may write into the state dir while it is handed over and changed.
    if (wasRunning) {
      await stopService(service);
      undo.add('the stopped service', () => startAndWait(service));
    }
    await prepareStateDir(layout, service.user, undo);
    await writeTracked(layout.releaseKeys, undo, () => writeFileAtomic(layout.releaseKeys, `${keys.join('\n')}\n`, { mode: 0o644 }));
    const state = await installIntoStateAsUser(layout, service.user, version, options.tarball, clearBadMark);
    if (state.outcome === 'reused') say(`release ${version} already unpacked in ${versionDir(layout.stateDir, version)} (it matches the signed release)`);
    if (state.outcome === 'replaced') warn(`${versionDir(layout.stateDir, version)} did not match the signed release (${state.difference}); unpacked it again`);
    if (clearBadMark) say(`release ${version} was rolled back on this host before; installing it because --version named it`);

    const owner = service.user === null ? undefined : { uid: service.user.uid, gid: service.user.gid };
    if (options.update) {
      if (owner !== undefined) await handOver(layout.config, owner);
    } else {
      const written = await writeAgentConfig(layout.config, { server, apiKey: options.apiKey!, stateDir: layout.stateDir, allow: options.allow, signingKey: options.signingKey }, owner);
      if (written.created) undo.add(layout.config, () => rm(layout.config, { force: true }));
      if (written.replacedSigningKey !== null) warn(`${layout.config} pinned another hub command-signing key before; it now pins the one printed above`);
    }
    await writeTracked(layout.bootstrap, undo, () => writeBootstrapScript(layout, version, server));
    if (kind === 'fallback') {
      if (await addRebootEntry(layout)) undo.add('the @reboot crontab entry', () => removeRebootEntry(layout));
    } else {
      await installUnit(service, undo);
    }
    await writeTracked(layout.record, undo, () =>
      writeInstallRecord(layout.record, {
        mode: 'native',
        name,
        service: kind,
        unit: kind === 'fallback' ? '' : service.unitPath,
        created_user: createdUser,
        server,
        user: userName ?? '',
      }),
    );
    await switchProgramTree(layout, version); // last: root's lifecycle commands now run this release
  } catch (error) {
    await undo.runAll();
    throw error;
  }
  undo.forget(); // installed: a failure to start from here on must not undo the install

  await startAndWait(service);
  const status = await readSupervisorStatus(layout);
  if (status?.version && status.version !== version) {
    warn(`installed ${version}, but the supervisor reports ${status.version} (state ${status.state}); see ${layout.bootstrap} --logs`);
  }
  say(options.update ? `updated ${before ?? 'nothing'} -> ${version}` : `installed tether agent ${version} in ${options.prefix} (${kind} service); manage it with ${layout.bootstrap} --status`);
  return 0;
}
