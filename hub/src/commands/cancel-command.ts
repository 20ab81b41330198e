// Cancelling a command (POST /api/commands/{id}/cancel): a command the agent has is sent the signed
// `cancel` frame (protocol.md section 6) over its WebSocket, or with its HTTP session's next poll
// answer; the agent kills the job and answers `cancelled`, which is stored like any result. A
// command still waiting on the hub is answered `cancelled` here and never sent. When clustered and
// another hub holds the key's live session, the cancel goes to that hub (a `cancel` message on its
// inbox), which sends the frame to its session the same way.
import type { CommandRecord } from '../store/store.ts';
import type { Presence, Transport } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { CommandRouter } from './command-router.ts';
import type { SignedFrames } from './signed-frames.ts';
import { HttpError } from '../http/http-error.ts';

export type CancelOutcome = { outcome: 'cancel_sent'; transport: Transport } | { outcome: 'cancelled_before_sending' };

export interface CancelDeps {
  presence: Presence;
  frames: SignedFrames;
  router: CommandRouter;
  directory: SessionDirectory;
}

type LocalCancelDeps = Omit<CancelDeps, 'directory'>;

/** Sends the cancel to the key's WebSocket session on this hub; the transport, or undefined without one. */
function cancelOverSocket(deps: LocalCancelDeps, keyId: string, commandId: string): Transport | undefined {
  const socket = deps.presence.websocketSessionFor(keyId);
  return socket?.send?.(deps.frames.cancel(socket, commandId)) ? 'websocket' : undefined;
}

/** Queues the cancel for the key's HTTP session on this hub and wakes its long poll. */
function cancelWithNextPoll(deps: LocalCancelDeps, keyId: string, commandId: string): Transport | undefined {
  const http = deps.presence.httpSessionFor(keyId);
  if (!http) return undefined;
  if (!http.pendingCancels?.includes(commandId)) http.pendingCancels = [...(http.pendingCancels ?? []), commandId];
  deps.router.wake(keyId);
  return 'http_polling';
}

/** A cancel for a session of this hub (asked here, or routed from another hub). */
export function cancelLocally(deps: LocalCancelDeps, keyId: string, commandId: string): Transport | undefined {
  return cancelOverSocket(deps, keyId, commandId) ?? cancelWithNextPoll(deps, keyId, commandId);
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
  // A socket here first; then the hub holding the key's live session (which may be a newer socket
  // than an HTTP session this hub still remembers); then this hub's HTTP session.
  const transport =
    cancelOverSocket(deps, record.key_id, record.command_id) ?? (await deps.directory.cancel(record.key_id, record.command_id)) ?? cancelWithNextPoll(deps, record.key_id, record.command_id);
  if (transport) return { outcome: 'cancel_sent', transport };
  throw new HttpError(409, `no agent is connected with key ${record.key_id}, so the cancel cannot reach it; the command's result arrives when the agent is back`);
}
