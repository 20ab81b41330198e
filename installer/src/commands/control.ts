// --start, --stop, --restart of an installed agent.
import { requireInstalled } from '../installed.ts';
import { warn } from '../output.ts';
import { runningPid } from '../pid-service.ts';
import { startService, stopService } from '../service.ts';
import type { Service } from '../service.ts';
import { waitUntilRunning } from '../supervisor-report.ts';

/** Starts the service and waits until its supervisor reports running (a warning when it does not). */
export async function startAndWait(service: Service): Promise<void> {
  await startService(service);
  const pid = service.kind === 'fallback' ? await runningPid(service.layout) : null;
  if (!(await waitUntilRunning(service.layout, pid))) warn(`the supervisor has not reported running yet; check ${service.layout.bootstrap} --logs`);
}

export async function controlCommand(prefix: string, action: 'start' | 'stop' | 'restart'): Promise<number> {
  const { service } = await requireInstalled(prefix);
  if (action !== 'start') await stopService(service);
  if (action !== 'stop') await startAndWait(service);
  return 0;
}
