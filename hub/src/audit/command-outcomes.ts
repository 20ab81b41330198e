// The audit log's `command.finished` entries: every command this hub stores a result for (or sees
// expire), with the host key, the command and how it went, beside the operator's `command.send`.
import type { Logger } from '@tether/shared/logger.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { HubStore } from '../store/store.ts';
import { outcomeOf } from '../metrics/hub-metrics.ts';

export function auditCommandOutcomes(router: CommandRouter, store: HubStore, log: Logger): void {
  router.onFinished((record, result) => {
    const error = typeof result?.error === 'string' ? result.error.slice(0, 500) : undefined;
    store
      .appendAudit({
        actor: 'agent',
        action: 'command.finished',
        key_id: record.key_id,
        command_id: record.command_id,
        outcome: outcomeOf(result),
        detail: { command: record.command, ...(error ? { error } : {}), ...(typeof result?.duration_ms === 'number' ? { duration_ms: result.duration_ms } : {}) },
      })
      .catch((failure: unknown) => log.error({ err: (failure as Error).message, command_id: record.command_id }, 'could not write the audit log'));
  });
}
