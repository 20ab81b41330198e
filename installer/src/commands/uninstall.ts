// --uninstall [--purge]: stops the agent and removes what the installer created (unit or crontab
// entry, the service user it created, config, releases, logs, tether.sh), and says what it left:
// the state dir (outbox, journal, backups) stays unless --purge. The state dir is emptied by the
// service user itself (state-remove), never by root walking a directory that user controls.
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeRebootEntry } from '../crontab.ts';
import { loadInstalled } from '../installed.ts';
import type { Layout } from '../layout.ts';
import { ManagerError, say, warn } from '../output.ts';
import { lastLine, run, serviceEnv } from '../processes.ts';
import { asUser, removeServiceUser } from '../service-user.ts';
import type { ServiceUser } from '../service-user.ts';
import { stopService, systemctl } from '../service.ts';

/** What an install puts into the state dir; everything else there is the agent's own. */
const INSTALLED_STATE = ['versions', 'releases', 'current', 'current.new', 'release-keys.pub'];

/** Run as the service user: removes the installed releases from the state dir, or (purge) everything in it. */
export async function removeFromState(stateDir: string, purge: boolean): Promise<void> {
  const names = purge ? await readdir(stateDir).catch(() => [] as string[]) : INSTALLED_STATE;
  for (const name of names) await rm(join(stateDir, name), { recursive: true, force: true });
}

async function removeFromStateAsUser(layout: Layout, user: ServiceUser, purge: boolean): Promise<void> {
  const [file, ...args] = asUser(user, [join(layout.libCurrent, 'bin', 'node'), join(layout.libCurrent, 'manager.mjs'), 'state-remove', '--prefix', layout.prefix, ...(purge ? ['--purge'] : [])]);
  const result = await run(file!, args, { env: serviceEnv({ HOME: user.home }) });
  if (result.code !== 0) throw new ManagerError(`cannot clean up ${layout.stateDir}: ${lastLine(result)}`);
}

export async function uninstallCommand(prefix: string, purge: boolean): Promise<number> {
  const installed = await loadInstalled(prefix);
  if (installed === null) throw new ManagerError(`no native tether install at ${prefix}; pass --prefix DIR, or install with --key KEY`);
  const { record, service } = installed;
  const { layout } = service;
  await stopService(service).catch((error: unknown) => warn(`could not stop the agent: ${(error as Error).message}`));
  if (service.kind === 'fallback') {
    await removeRebootEntry(layout);
  } else {
    await systemctl(service, ['disable', `${service.name}.service`]);
    await rm(service.unitPath, { force: true });
    await systemctl(service, ['daemon-reload']);
    say(`removed ${service.unitPath}`);
  }
  // The service user empties its own state dir. A non-root install's files are the caller's own,
  // and once a service user is gone nobody else can act on its files: then they are removed here.
  if (service.user !== null) await removeFromStateAsUser(layout, service.user, purge);
  else await removeFromState(layout.stateDir, purge);
  if (record.created_user !== '') {
    if (await removeServiceUser(record.created_user)) say(`removed the service user ${record.created_user}`);
    else warn(`could not remove the user ${record.created_user}`);
  }
  for (const path of [layout.config, layout.logsDir, layout.pidFile, layout.record, layout.bootstrap, layout.libDir, layout.releaseKeys]) {
    await rm(path, { recursive: true, force: true });
  }
  for (const name of await readdir(prefix).catch(() => [] as string[])) {
    if (name.startsWith('.incoming-')) await rm(join(prefix, name), { recursive: true, force: true });
  }
  await rmdir(layout.stateDir).catch(() => undefined); // only when empty (always after --purge)
  await rmdir(prefix).catch(() => undefined);
  const left = await readdir(prefix).catch(() => null);
  if (left?.includes('state')) say(`uninstalled; left ${layout.stateDir} (agent state, outbox and backups); remove it with --uninstall --purge`);
  else if (left !== null) say(`uninstalled; left ${prefix} (it holds files the installer did not create)`);
  else say(`uninstalled; removed ${prefix}`);
  return 0;
}
