// Starts local backup schedules (targets with `schedule:`) and turns every scheduled run into a
// response in the outbox under an id of the agent's own, `scheduled:<uuid>`: the hub stores it as a
// completed `backup` when it next hears from the agent, so runs while the hub was away are not lost.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@tether/shared/logger.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { BackupConfig } from '../config-schema.ts';

export interface ScheduledBackupsOptions {
  config: BackupConfig;
  stateDir: string;
  agentId: string;
  log: Logger;
  /** Stores a response durably and sends it (the agent's outbox). */
  report(commandId: string, response: ResponseMessage): Promise<void>;
}

/** Returns a stop function; does nothing (and loads nothing) when no target has a schedule. */
export async function startScheduledBackups(options: ScheduledBackupsOptions): Promise<() => void> {
  const { config, stateDir, agentId, log } = options;
  if (!Object.values(config.targets).some((target) => target.schedule)) return () => {};
  const [{ startBackupScheduler }, { scheduledBackupRunner }] = await Promise.all([import('./scheduler.ts'), import('./runner.ts')]);
  const scheduler = startBackupScheduler({
    config,
    log,
    runBackup: scheduledBackupRunner(config, stateDir, log),
    onResult: async (result) => {
      const commandId = `scheduled:${randomUUID()}`;
      const { ok, error, ...data } = result;
      const response: ResponseMessage = ok
        ? { type: 'response', command_id: commandId, success: true, data, agent_id: agentId }
        : { type: 'response', command_id: commandId, success: false, data, error, error_code: 'failed', agent_id: agentId };
      await options.report(commandId, response);
    },
  });
  return () => scheduler.stop();
}
