// The account a root install runs as: the system user `tether` (created if missing, removed on
// uninstall only when this installer created it). Root never runs anything from the service
// user's state dir as root: it first drops to this user with setpriv (runuser where setpriv is
// missing), which also takes every capability and sets no_new_privs.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ManagerError } from './output.ts';
import { have, lastLine, run } from './processes.ts';

export const SERVICE_USER = 'tether';

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export async function lookupUser(name: string): Promise<ServiceUser | null> {
  const result = await run('getent', ['passwd', name]);
  if (result.code !== 0) return null;
  const [user, , uid, gid, , home] = result.stdout.trim().split('\n')[0]!.split(':');
  if (user !== name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return null;
  return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
}

/** useradd --system: no login shell, no home directory created (its home is the state dir). */
export async function createServiceUser(name: string, home: string): Promise<ServiceUser> {
  if (!have('useradd')) throw new ManagerError(`useradd is missing: cannot create the service user ${name}; create it yourself (a system user without login) and install again`);
  const shell = ['/usr/sbin/nologin', '/sbin/nologin'].find((path) => existsSync(path)) ?? '/bin/false';
  const result = await run('useradd', ['--system', '--home-dir', home, '--no-create-home', '--shell', shell, name]);
  if (result.code !== 0) throw new ManagerError(`cannot create the service user ${name} (useradd: ${lastLine(result)})`);
  const user = await lookupUser(name);
  if (user === null) throw new ManagerError(`useradd created ${name}, but getent does not find it`);
  return user;
}

/** true when removed; a user that still runs processes or is missing is left as it is. */
export async function removeServiceUser(name: string): Promise<boolean> {
  return (await run('userdel', [name])).code === 0;
}

/** The argv that runs `argv` as `user` (or as is, for installs without a service user). */
export function asUser(user: ServiceUser | null, argv: readonly string[]): string[] {
  if (user === null) return [...argv];
  if (have('setpriv')) {
    return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--no-new-privs', '--', ...argv];
  }
  if (have('runuser')) return ['runuser', '-u', user.name, '--', ...argv];
  throw new ManagerError(`setpriv (util-linux) is needed to run the agent as ${user.name} rather than root; install util-linux`);
}

/**
 * The service user must be able to reach its files: every directory above `path` searchable by it
 * (owner, group or others x bit). Refused with the directory to fix, rather than an agent that
 * cannot start.
 */
export async function checkReachable(user: ServiceUser, path: string): Promise<void> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const bits = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if ((info.mode & bits) === 0) {
      throw new ManagerError(
        `the service user ${user.name} cannot reach ${path}: ${dir} is mode ${(info.mode & 0o777).toString(8)} (owner uid ${info.uid}); install under a directory every user may enter, such as /opt/tether`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}
