// One agent's WebSocket session: connected → register → registered, heartbeats, responses
// (stored, then acked for protocol-1 agents), job events, keepalive and bad-frame policing.
import WebSocket from 'ws';
import type { RawData } from 'ws';
import type { Logger } from '@tether/shared/logger.ts';
import { PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import { agentMessageSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { AgentMessage } from '@tether/shared/protocol/agent-messages.ts';
import { newSession } from '../presence.ts';
import type { AgentSession, Presence } from '../presence.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { CommandSigner } from '../identity/signing-key.ts';
import type { SignedFrames } from '../commands/signed-frames.ts';
import type { HeartbeatRing } from '../hosts/heartbeat-ring.ts';
import { scheme2 } from '../commands/signed-frames.ts';
import { sameGrant } from '../commands/grant-push.ts';
import type { HubStore, KeyRecord } from '../store/store.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { BatchDispatcher } from '../fleet/batch-dispatcher.ts';
import { registerSession } from '../register-session.ts';
import { BadFrameCounter } from './bad-frame-counter.ts';
import { CLOSE_PROTOCOL_VIOLATION, CLOSE_REPLACED } from './close-codes.ts';

export interface AgentConnectionDeps {
  presence: Presence;
  router: CommandRouter;
  store: HubStore;
  directory: SessionDirectory;
  dispatcher: BatchDispatcher;
  signer: CommandSigner;
  frames: SignedFrames;
  log: Logger;
  heartbeatIntervalS: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  agentsPerKey: number;
  /** One point a minute of each agent's heartbeats, for the console's charts. */
  heartbeats: HeartbeatRing;
}

/** Command ids per ack frame (~40 bytes each): a frame stays far below any agent's frame limit. */
const ACK_IDS_PER_FRAME = 500;

const KNOWN_TYPES = new Set(agentMessageSchema.options.map((option) => option.shape.type.value as string));

/** `keyHash`: the stored hash of the key the handshake presented (frames are signed for it). */
export function acceptAgentConnection(ws: WebSocket, key: KeyRecord, keyHash: string, deps: AgentConnectionDeps): void {
  const log = deps.log.child({ key_id: key.id });
  const badFrames = new BadFrameCounter();
  const send = (frame: Record<string, unknown>): boolean => {
    if (ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  };
  const session: AgentSession = newSession(key.id, keyHash, 'websocket', {
    send,
    close: (code, reason) => ws.close(code, reason),
    pushGrant: (permissions) => send(deps.frames.permissions(session, permissions)),
  });
  deps.presence.add(session);
  log.info({ session_id: session.sessionId }, 'agent connected (websocket)');

  session.send!({
    type: 'connected',
    message: 'connected to tether hub',
    agent_key_id: key.id,
    permissions: key.permissions,
    timestamp: new Date().toISOString(),
    protocol: PROTOCOL_VERSION,
    session_id: session.sessionId,
    heartbeat_interval_s: deps.heartbeatIntervalS,
    signing_key: deps.signer.publicKey,
  });

  const keepalive = startKeepalive(ws, deps.pingIntervalMs, deps.pongTimeoutMs, log);

  // Results of one batch become durable together: their acks go out as one signed frame, sent
  // after the other callbacks of this turn (one Ed25519 signature instead of one per result).
  let acks: string[] = [];
  const ack = (commandId: string) => {
    if (acks.push(commandId) > 1) return;
    setImmediate(() => {
      const ids = acks;
      acks = [];
      for (let start = 0; start < ids.length; start += ACK_IDS_PER_FRAME) session.send!(deps.frames.ack(session, ids.slice(start, start + ACK_IDS_PER_FRAME)));
    });
  };

  const rejectFrame = (why: string, detail?: unknown) => {
    log.warn({ session_id: session.sessionId, why, detail }, 'dropped a bad frame');
    if (badFrames.record()) {
      log.warn({ session_id: session.sessionId }, 'too many bad frames; closing 4005');
      ws.close(CLOSE_PROTOCOL_VIOLATION, 'too many bad frames');
    }
  };

  // Frames are handled in order, each once the one before it has been taken in (a registration
  // is complete before the frames after it); results do not wait for each other's durability.
  let previous: Promise<void> = Promise.resolve();
  const handleInOrder = (message: AgentMessage) => {
    previous = previous.then(() => handleMessage(message)).catch((error: unknown) => log.error({ err: error, type: message.type }, 'error while handling a frame'));
  };

  ws.on('message', (raw: RawData, isBinary: boolean) => {
    session.lastSeenMs = Date.now();
    try {
      if (isBinary) return rejectFrame('binary frame; send JSON text');
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString());
      } catch {
        return rejectFrame('frame is not JSON');
      }
      const type = (parsed as { type?: unknown } | null)?.type;
      if (typeof parsed !== 'object' || parsed === null || typeof type !== 'string') return rejectFrame('frame has no string "type"');
      if (!KNOWN_TYPES.has(type)) {
        log.debug({ type }, 'unknown message type ignored');
        return;
      }
      const result = agentMessageSchema.safeParse(parsed);
      if (!result.success) return rejectFrame(`invalid ${type}`, result.error.issues.slice(0, 5));
      handleInOrder(result.data);
    } catch (error) {
      log.error({ err: error }, 'error while handling a frame');
    }
  });

  async function handleMessage(message: AgentMessage): Promise<void> {
    switch (message.type) {
      case 'register': {
        const data = message.data;
        const outcome = await registerSession(session, key, data, message.protocol ?? data.protocol ?? null, 'websocket', deps);
        if (!outcome.ok) {
          if ('gone' in outcome) return;
          session.send!({ type: 'error', message: outcome.error });
          ws.close(outcome.closeCode, outcome.status === 409 ? 'agent_id registered under another key' : 'over the hub quota of agents per key');
          return;
        }
        // Closed while its row was written: the close handler already took it out of presence.
        if (ws.readyState !== WebSocket.OPEN) return;
        // The key's live session on every hub now (an older one elsewhere is closed, 4008).
        await deps.directory
          .opened(session)
          .catch((error: Error) => log.warn({ err: error.message }, 'could not claim the session in the cluster; commands from other hubs reach it after its next heartbeat'));
        session.send!({ type: 'registered', agent_id: data.agent_id });
        // A grant changed since `connected` was not pushed to this session (its scheme was unknown
        // until now): send it before any command.
        const current = (await deps.store.getKey(key.id))?.permissions;
        if (current && scheme2(session) && !sameGrant(current, key.permissions)) session.pushGrant!(current);
        await deps.router.resendUnanswered(session);
        // Fleet commands that waited for this agent (it was offline) may start its target now.
        void deps.dispatcher.agentBack(key.id);
        return;
      }
      case 'heartbeat': {
        session.lastHeartbeat = new Date().toISOString();
        session.metrics = message.system_metrics ?? session.metrics;
        if (session.agentId) {
          deps.store.saveHeartbeat(session.agentId, key.id, message).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not store a heartbeat'));
          deps.heartbeats.record(session.agentId, key.id, message);
        }
        session.send!({ type: 'heartbeat_ack' });
        if (session.agentId) {
          deps.directory.alive(session).then(
            (live) => {
              if (live) return;
              log.warn({ session_id: session.sessionId }, 'a newer session of this key holds it on another hub; closing this one with 4008');
              ws.close(CLOSE_REPLACED, 'replaced by a newer session of the same agent key');
            },
            (error: Error) => log.warn({ err: error.message }, 'could not refresh the session in the cluster'),
          );
        }
        return;
      }
      case 'response': {
        const { type: _type, ...response } = message;
        // Awaited until submitted (results keep their order), not until durable: the next frames
        // go on while this result's batch becomes durable.
        const { settled } = await deps.router.submitResult(key.id, response);
        settled.then(
          ({ refusal }) => {
            if (refusal) session.send!({ type: 'error', message: refusal.message });
            // Not stored for now (over a rate): no ack, so the agent keeps it and sends it again later.
            if (refusal && !refusal.final) return;
            // Acks are an extension: a micro-hack agent never asked for them. Sent only now that the
            // result's batch is durable.
            if (session.protocol === PROTOCOL_VERSION) ack(response.command_id);
          },
          // Not stored durably: no ack; the agent re-sends it after its next reconnect.
          (error: unknown) => log.error({ err: (error as Error).message, command_id: response.command_id }, 'could not store a result; not acked'),
        );
        return;
      }
      default: {
        // Awaited until submitted (so events keep their order), not until durable.
        const { outcomes } = await deps.router.submitEvents(key.id, [message]);
        outcomes.catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not store a job event'));
      }
    }
  }

  ws.on('close', (code) => {
    keepalive.stop();
    deps.presence.remove(session.sessionId);
    deps.directory.closed(session);
    log.info({ session_id: session.sessionId, agent_id: session.agentId, code }, 'agent disconnected');
  });
  ws.on('error', (error) => log.warn({ session_id: session.sessionId, err: error.message }, 'agent socket error'));
}

/** WS ping every interval; a socket that does not pong within the timeout is terminated. */
function startKeepalive(ws: WebSocket, intervalMs: number, timeoutMs: number, log: Logger): { stop(): void } {
  let pongTimer: NodeJS.Timeout | undefined;
  ws.on('pong', () => {
    clearTimeout(pongTimer);
    pongTimer = undefined;
  });
  const interval = setInterval(() => {
    if (pongTimer) return;
    pongTimer = setTimeout(() => {
      log.warn('agent did not answer a ping in time; terminating its socket');
      ws.terminate();
    }, timeoutMs);
    try {
      ws.ping();
    } catch {
      // The socket is closing; its close handler stops the keepalive.
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(interval);
      clearTimeout(pongTimer);
    },
  };
}
