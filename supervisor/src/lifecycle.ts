// What the supervisor does when the agent exits (protocol.md section 7). The one place that maps
// an exit code to an action.
import { EXIT_STOP, EXIT_RESTART, EXIT_UPDATE, EXIT_REDEPLOY, EXIT_FATAL, EXIT_CONFIG } from '@tether/shared/exit-codes.ts';

export type ExitAction = { kind: 'stop' } | { kind: 'restart-now' } | { kind: 'halt'; reason: string } | { kind: 'restart-after-backoff' } | { kind: 'update' } | { kind: 'redeploy' };

export function actionForExit(code: number | null, signal: string | null): ExitAction {
  if (signal !== null || code === null) return { kind: 'restart-after-backoff' };
  switch (code) {
    case EXIT_STOP:
      return { kind: 'stop' };
    case EXIT_RESTART:
      return { kind: 'restart-now' };
    // Verify and switch to the staged release, then start it under a health gate (versions/).
    case EXIT_UPDATE:
      return { kind: 'update' };
    // Fetch the running version afresh, verify it, reinstall it, start it.
    case EXIT_REDEPLOY:
      return { kind: 'redeploy' };
    case EXIT_FATAL:
      return { kind: 'halt', reason: 'agent key deleted or invalid (exit 99)' };
    case EXIT_CONFIG:
      // Restarting cannot fix a bad configuration; the operator fixes it and sends SIGHUP.
      return { kind: 'halt', reason: 'invalid configuration (exit 78); fix the agent configuration, then send SIGHUP or restart the supervisor' };
    default:
      return { kind: 'restart-after-backoff' };
  }
}
