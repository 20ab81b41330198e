// How an install runs: a systemd system unit (root), a systemd user unit (a user whose
// `systemctl --user` works), or the pid-file service with an @reboot crontab entry (no systemd).
// Start, stop and "is it running" for each.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ServiceKind } from './install-record.ts';
import type { Layout } from './layout.ts';
import { ManagerError, say } from './output.ts';
import { runningPid, startPidService, stopPidService } from './pid-service.ts';
import { have, lastLine, run } from './processes.ts';
import { isRoot } from './safe-files.ts';
import type { ServiceUser } from './service-user.ts';

export interface Service {
  kind: ServiceKind;
  name: string;
  /** The unit file, '' for the pid-file service. */
  unitPath: string;
  layout: Layout;
  /** The account the agent runs as; null: the user who installed it. */
  user: ServiceUser | null;
}

export async function chooseServiceKind(): Promise<ServiceKind> {
  const systemd = existsSync('/run/systemd/system') && have('systemctl');
  if (systemd && isRoot()) return 'systemd';
  if (systemd && (await run('systemctl', ['--user', 'show-environment'])).code === 0) return 'systemd-user';
  return 'fallback';
}

export function unitPathFor(kind: ServiceKind, name: string): string {
  if (kind === 'systemd') return `/etc/systemd/system/${name}.service`;
  if (kind === 'systemd-user') return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user', `${name}.service`);
  return '';
}

export async function systemctl(service: Service, args: readonly string[]): Promise<{ code: number; detail: string }> {
  const result = await run('systemctl', service.kind === 'systemd-user' ? ['--user', ...args] : args);
  return { code: result.code, detail: lastLine(result) };
}

async function systemctlOrFail(service: Service, ...args: string[]): Promise<void> {
  const result = await systemctl(service, args);
  if (result.code !== 0) throw new ManagerError(`systemctl ${args.join(' ')} failed: ${result.detail}`);
}

export async function isRunning(service: Service): Promise<boolean> {
  if (service.kind === 'fallback') return (await runningPid(service.layout)) !== null;
  return (await systemctl(service, ['is-active', '--quiet', `${service.name}.service`])).code === 0;
}

export async function startService(service: Service): Promise<void> {
  if (service.kind === 'fallback') return startPidService(service.layout, service.user);
  await systemctlOrFail(service, 'start', `${service.name}.service`);
  say(`started ${service.name}.service`);
}

export async function stopService(service: Service): Promise<void> {
  if (service.kind === 'fallback') return stopPidService(service.layout);
  await systemctlOrFail(service, 'stop', `${service.name}.service`);
  say(`stopped ${service.name}.service`);
}
