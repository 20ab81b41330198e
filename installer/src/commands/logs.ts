// --logs [--follow]: the last 200 lines of the agent's log (the journal under systemd, the log file
// of the pid-file service), and with --follow everything after them.
import { access } from 'node:fs/promises';
import { requireInstalled } from '../installed.ts';
import { ManagerError } from '../output.ts';
import { runInForeground } from '../processes.ts';

export async function logsCommand(prefix: string, follow: boolean): Promise<number> {
  const { service } = await requireInstalled(prefix);
  if (service.kind === 'fallback') {
    const log = service.layout.logFile;
    if (
      !(await access(log).then(
        () => true,
        () => false,
      ))
    )
      throw new ManagerError(`no log yet at ${log}`);
    return runInForeground('tail', ['-n', '200', ...(follow ? ['-F'] : []), log]);
  }
  const scope = service.kind === 'systemd-user' ? ['--user'] : [];
  return runInForeground('journalctl', [...scope, '-u', `${service.name}.service`, '-n', '200', ...(follow ? ['-f'] : ['--no-pager'])]);
}
