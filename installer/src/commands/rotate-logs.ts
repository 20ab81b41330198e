// The log rotator of the pid-file service (started by pid-service.ts): rotates PREFIX/logs/agent.log
// while the supervisor it was started for runs.
import { layoutOf } from '../layout.ts';
import { rotateWhile } from '../log-rotation.ts';
import { stillServing } from '../pid-service.ts';

export async function rotateLogsCommand(prefix: string, pid: number): Promise<number> {
  const layout = layoutOf(prefix);
  await rotateWhile(layout.logFile, () => stillServing(layout, pid));
  return 0;
}
