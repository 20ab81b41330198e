// GET /api/backups/status (admin): every backup target the agents report in their heartbeats,
// stale ones (older than their alert_after_h, or never backed up) first, with the last restore test.
import type { FastifyInstance } from 'fastify';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { backupStatus } from '../backups/backup-status.ts';
import type { AgentHeartbeatRow } from '../backups/backup-status.ts';
import { adminAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';

export interface BackupStatusDeps {
  /** Every agent row with its last heartbeat (the hub's store). */
  agentHeartbeats(): AgentHeartbeatRow[] | Promise<AgentHeartbeatRow[]>;
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
}

export async function backupStatusRoutes(app: FastifyInstance, deps: BackupStatusDeps): Promise<void> {
  app.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));
  app.get('/api/backups/status', async () => {
    const targets = backupStatus(await deps.agentHeartbeats(), new Date());
    return { stale: targets.filter((target) => target.stale).length, targets };
  });
}
