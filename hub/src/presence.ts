// Who is connected right now: WebSocket sessions and HTTP-polling agents (in memory).
import { randomUUID } from 'node:crypto';
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-api.ts';

export type Transport = 'websocket' | 'http_polling';

/** An HTTP-polling agent counts as connected until it has not polled for this long. */
export const HTTP_PRESENCE_MS = 90_000;

export interface AgentSession {
  sessionId: string;
  keyId: string;
  transport: Transport;
  /** Known once the agent has registered. */
  agentId: string | null;
  hostname: string;
  version: string;
  /** 1 when the agent announced protocol 1 (it wants acks and extensions); null for micro-hack. */
  protocol: number | null;
  /** The command-signing scheme the agent announced at registration (2); null: scheme 1 or none. */
  signing: number | null;
  connectedSince: string;
  lastHeartbeat: string | null;
  lastSeenMs: number;
  metrics: Record<string, unknown> | null;
  /** WebSocket sessions only: sends a frame now; false when the socket is not open. */
  send?: (frame: Record<string, unknown>) => boolean;
  /** HTTP sessions only: the next poll offers every unanswered command (after a transport switch). */
  offerAllOnNextPoll?: boolean;
  /**
   * Tells the agent its key's grant changed (commands/grant-push.ts): a WebSocket sends the signed
   * `permissions` frame now; an HTTP session keeps the grant for its next poll answer and wakes a
   * waiting long poll. False when it cannot be delivered.
   */
  pushGrant?: (permissions: readonly string[]) => boolean;
  /** HTTP sessions only: a changed grant not yet answered; the poll answer signs it as it goes out. */
  pendingGrant?: readonly string[] | null;
  /** HTTP sessions only: commands to cancel; the next poll answer carries a signed `cancel` frame for each. */
  pendingCancels?: string[];
  close(code: number, reason: string): void;
}

/** A session as it starts: nothing known of the agent until it registers. */
export function newSession(keyId: string, transport: Transport, link: Pick<AgentSession, 'send' | 'close' | 'offerAllOnNextPoll' | 'pushGrant'>): AgentSession {
  return {
    sessionId: randomUUID(),
    keyId,
    transport,
    agentId: null,
    hostname: '',
    version: '',
    protocol: null,
    signing: null,
    connectedSince: new Date().toISOString(),
    lastHeartbeat: null,
    lastSeenMs: Date.now(),
    metrics: null,
    ...link,
  };
}

export class Presence {
  private readonly sessions = new Map<string, AgentSession>();
  /** Sessions opened since start, by transport (reconnects show here; metrics). */
  readonly opened: Record<Transport, number> = { websocket: 0, http_polling: 0 };

  add(session: AgentSession): void {
    this.sessions.set(session.sessionId, session);
    this.opened[session.transport] += 1;
  }

  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  all(): AgentSession[] {
    this.dropStaleHttpSessions();
    return [...this.sessions.values()];
  }

  forKey(keyId: string): AgentSession[] {
    return this.all().filter((session) => session.keyId === keyId);
  }

  /** The newest registered WebSocket session of a key: where its commands go. */
  socketFor(keyId: string): AgentSession | undefined {
    return this.forKey(keyId)
      .filter((session) => session.transport === 'websocket' && session.agentId !== null)
      .at(-1);
  }

  httpSessionFor(keyId: string): AgentSession | undefined {
    return this.forKey(keyId).filter((session) => session.transport === 'http_polling').at(-1);
  }

  websocketCount(keyId: string): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.keyId === keyId && session.transport === 'websocket') count += 1;
    return count;
  }

  isConnected(keyId: string): boolean {
    return this.forKey(keyId).length > 0;
  }

  /** Closes (WS) or forgets (HTTP) every session of a key. */
  closeKey(keyId: string, code: number, reason: string): void {
    for (const session of this.forKey(keyId)) {
      session.close(code, reason);
      this.sessions.delete(session.sessionId);
    }
  }

  /** Other sessions of the same agent: the older ones lose to a new connection. */
  othersWithAgentId(agentId: string, except: string): AgentSession[] {
    return this.all().filter((session) => session.agentId === agentId && session.sessionId !== except);
  }

  view(): ConnectedAgentView[] {
    return this.all().map((session) => ({
      key_id: session.keyId,
      agent_id: session.agentId ?? '',
      hostname: session.hostname,
      version: session.version,
      transport: session.transport,
      protocol: session.protocol,
      connected_since: session.connectedSince,
      last_heartbeat: session.lastHeartbeat,
      metrics: session.metrics,
    }));
  }

  private dropStaleHttpSessions(): void {
    const cutoff = Date.now() - HTTP_PRESENCE_MS;
    for (const session of this.sessions.values()) {
      if (session.transport === 'http_polling' && session.lastSeenMs < cutoff) this.sessions.delete(session.sessionId);
    }
  }
}
