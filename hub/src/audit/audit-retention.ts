// The audit log keeps 90 days: entries older than that are dropped at start and then every hour
// (by every hub on a shared store; deleting what another hub deleted already is harmless).
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';

export const AUDIT_RETENTION_MS = 90 * 24 * 3_600_000;
const EVERY_MS = 3_600_000;

export function pruneAuditRegularly(store: HubStore, log: Logger): { stop(): void } {
  const prune = () => {
    store.pruneAudit(new Date(Date.now() - AUDIT_RETENTION_MS)).then(
      (removed) => removed > 0 && log.info({ removed }, 'audit log entries past 90 days removed'),
      (error: unknown) => log.warn({ err: (error as Error).message }, 'could not prune the audit log'),
    );
  };
  prune();
  const timer = setInterval(prune, EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
