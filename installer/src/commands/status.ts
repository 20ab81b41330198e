// --status: running or not, and which version (exit 0 running, 3 not running). Read from
// supervisor.json as data and from the service manager; nothing from the state dir is run.
import { requireInstalled } from '../installed.ts';
import { EXIT_NOT_RUNNING, say } from '../output.ts';
import { isRunning } from '../service.ts';
import { installedVersion, readSupervisorStatus } from '../supervisor-report.ts';

export async function statusCommand(prefix: string): Promise<number> {
  const { service } = await requireInstalled(prefix);
  const status = await readSupervisorStatus(service.layout);
  const installed = (await installedVersion(service.layout)) ?? 'unknown';
  const state = status?.state ?? 'unknown';
  const where = `${service.kind} service, ${prefix}`;
  if ((await isRunning(service)) && state !== 'stopped' && state !== 'halted') {
    say(`${service.name} is running: version ${status?.version ?? installed}, supervisor ${state}, agent pid ${status?.agent_pid ?? '-'}, restarts ${status?.restarts ?? 0} (${where})`);
    return 0;
  }
  say(`${service.name} is not running: installed version ${installed}, supervisor ${state} (${where})`);
  return EXIT_NOT_RUNNING;
}
