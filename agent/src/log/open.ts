// Opens the command log of a state dir and takes over the stores of a version before it.
import type { Logger } from '@tether/shared/logger.ts';
import { CommandLog } from './command-log.ts';
import type { CommandLogOptions, JournalLimits } from './command-log.ts';
import { importLegacyStores } from './legacy-import.ts';

export async function openCommandLog(stateDir: string, limits: JournalLimits, log: Logger, options: CommandLogOptions = {}): Promise<CommandLog> {
  const commandLog = new CommandLog(stateDir, limits, log, options);
  await importLegacyStores(stateDir, commandLog, limits.retentionMs, log);
  return commandLog;
}
