// Cancelling a command (POST /api/commands/{id}/cancel): a command the agent has is sent the signed
// `cancel` frame (protocol.md section 6) over its WebSocket, or with its HTTP session's next poll
// answer; the agent kills the job and answers `cancelled`, which is stored like any result. A
// command still waiting on the hub is answered `cancelled` here and never sent.
import type { CommandRecord } from '../store/store.ts';
import type { Presence, Transport } from '../presence.ts';
import type { CommandRouter } from './command-router.ts';
import type { SignedFrames } from './signed-frames.ts';
import { HttpError } from '../http/http-error.ts';

export type CancelOutcome = { outcome: 'cancel_sent'; transport: Transport } | { outcome: 'cancelled_before_sending' };

export interface CancelDeps {
  presence: Presence;
  frames: SignedFrames;
  router: CommandRouter;
}

export async function cancelCommand(deps: CancelDeps, record: CommandRecord): Promise<CancelOutcome> {
  if (record.result !== null || record.status === 'expired') {
    throw new HttpError(409, `command ${record.command_id} has already finished (status ${record.status}); nothing to cancel`);
  }
  if (record.status === 'queued') {
    await deps.router.recordResult(record.key_id, {
      command_id: record.command_id,
      success: false,
      data: {},
      error: 'cancelled by the operator before it reached the agent',
      error_code: 'cancelled',
    });
    return { outcome: 'cancelled_before_sending' };
  }
  const socket = deps.presence.websocketSessionFor(record.key_id);
  if (socket?.send?.(deps.frames.cancel(socket, record.command_id))) return { outcome: 'cancel_sent', transport: 'websocket' };
  const http = deps.presence.httpSessionFor(record.key_id);
  if (http) {
    http.pendingCancels = [...(http.pendingCancels ?? []), record.command_id];
    deps.router.wake(record.key_id);
    return { outcome: 'cancel_sent', transport: 'http_polling' };
  }
  throw new HttpError(409, `no agent is connected with key ${record.key_id}, so the cancel cannot reach it; the command's result arrives when the agent is back`);
}
