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
  const stopBackups = await startBackupSchedules(options);
  const stopVerifies = await startVerifySchedules(options);
  return () => {
    stopBackups();
    stopVerifies();
  };
}

/**
 * Restore tests on `verify.schedule`: the target's newest local artifact, here (this host must hold
 * the age identity). The result stays in the artifact's manifest and goes out in the heartbeat.
 */
async function startVerifySchedules(options: ScheduledBackupsOptions): Promise<() => void> {
  const { config, stateDir, agentId, log } = options;
  if (!Object.values(config.targets).some((target) => target.verify?.schedule)) return () => {};
  if (!config.identity_file)
    log.warn('targets have verify.schedule but backup.identity_file is not set: their restore tests will fail until this host has the age identity (or run them on a verify host)');
  const [{ startBackupScheduler }, { scheduledVerifyRunner }] = await Promise.all([import('./scheduler.ts'), import('../verify/scheduled.ts')]);
  const scheduler = startBackupScheduler({
    config,
    log,
    what: 'restore test',
    scheduleOf: (target) => target.verify?.schedule,
    runBackup: scheduledVerifyRunner(config, stateDir, agentId),
    onResult: (result) => {
      const verify = result.artifact;
      if (result.ok && verify?.ok) log.info({ target: result.target, id: verify.id, checked: verify.checked }, 'scheduled restore test passed');
      else log.error({ target: result.target, id: verify?.id, problems: verify?.problems ?? [result.error] }, 'scheduled restore test FAILED');
    },
  });
  return () => scheduler.stop();
}

async function startBackupSchedules(options: ScheduledBackupsOptions): Promise<() => void> {
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
