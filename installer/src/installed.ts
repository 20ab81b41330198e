// An existing native install, as its root-owned install.env describes it: for every lifecycle
// command and for updates.
import type { InstallRecord } from './install-record.ts';
import { readInstallRecord } from './install-record.ts';
import { layoutOf } from './layout.ts';
import { ManagerError } from './output.ts';
import { checkRootOwned, isRoot } from './safe-files.ts';
import { lookupUser, SERVICE_USER } from './service-user.ts';
import type { Service } from './service.ts';

export interface Installed {
  record: InstallRecord;
  service: Service;
  /** The service user root installs run as (service.user is null while it does not exist). */
  userName: string | null;
}

/** The install at prefix, or null when there is none. */
export async function loadInstalled(prefix: string): Promise<Installed | null> {
  const layout = layoutOf(prefix);
  await checkRootOwned(prefix, [layout.record]);
  const record = await readInstallRecord(layout.record);
  if (record === null) return null;
  const userName = isRoot() ? record.user || SERVICE_USER : null;
  const user = userName === null ? null : await lookupUser(userName);
  return { record, userName, service: { kind: record.service, name: record.name, unitPath: record.unit, layout, user } };
}

/** For lifecycle commands: the install must exist, and so must its service user. */
export async function requireInstalled(prefix: string): Promise<Installed> {
  const installed = await loadInstalled(prefix);
  if (installed === null) throw new ManagerError(`no native tether install at ${prefix}; pass --prefix DIR, or install with --key KEY`);
  if (installed.userName !== null && installed.service.user === null) {
    throw new ManagerError(`the service user ${installed.userName} of the install at ${prefix} does not exist; run deploy.sh --update --prefix ${prefix}`);
  }
  return installed;
}
