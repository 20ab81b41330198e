// Without systemd, an @reboot crontab entry starts the pid-file service after a reboot:
//   @reboot PREFIX/tether.sh --start --native --prefix PREFIX >/dev/null 2>&1 # tether:PREFIX
// The marker comment finds the line again; the user's other entries are left as they are.
import type { Layout } from './layout.ts';
import { say, warn, ManagerError } from './output.ts';
import { have, lastLine, run } from './processes.ts';

function marker(layout: Layout): string {
  return `# tether:${layout.prefix}`;
}

async function currentTable(): Promise<string[]> {
  const listed = await run('crontab', ['-l']);
  return listed.code === 0 ? listed.stdout.split('\n') : [];
}

/** Adds (or replaces) the entry; false when there is no crontab to add it to. */
export async function addRebootEntry(layout: Layout): Promise<boolean> {
  if (!have('crontab')) {
    warn(`crontab is not installed: the agent will not start again after a reboot; install cron and run ${layout.bootstrap} --start`);
    return false;
  }
  const keep = (await currentTable()).filter((line) => line !== '' && !line.includes(marker(layout)));
  const entry = `@reboot ${layout.bootstrap} --start --native --prefix ${layout.prefix} >/dev/null 2>&1 ${marker(layout)}`;
  const written = await run('crontab', ['-'], { input: `${[...keep, entry].join('\n')}\n` });
  if (written.code !== 0) throw new ManagerError(`cannot write the crontab entry that starts the agent at boot (${lastLine(written)})`);
  return true;
}

export async function removeRebootEntry(layout: Layout): Promise<void> {
  if (!have('crontab')) return;
  const table = await currentTable();
  if (!table.some((line) => line.includes(marker(layout)))) return;
  const rest = table.filter((line) => line !== '' && !line.includes(marker(layout)));
  const result = rest.length === 0 ? await run('crontab', ['-r']) : await run('crontab', ['-'], { input: `${rest.join('\n')}\n` });
  if (result.code !== 0) throw new ManagerError(`cannot remove the @reboot crontab entry (${lastLine(result)})`);
  say('removed the @reboot crontab entry');
}
