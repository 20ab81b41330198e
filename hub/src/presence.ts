// Who is connected right now: WebSocket sessions and HTTP-polling agents (in memory).
import { randomUUID } from 'node:crypto';
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';

export type Transport = 'websocket' | 'http_polling';

/** An HTTP-polling agent counts as connected until it has not polled for this long. */
export const HTTP_PRESENCE_MS = 90_000;

export interface AgentSession {
  sessionId: string;
  keyId: string;
  /** The stored SHA-256 of the key this session authenticated with: what scheme-2 signatures bind to. */
  keyHash: string;
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
  /**
   * WebSocket sessions only: the commands sent on this socket lately, answered or not. A socket is
   * reliable and ordered, so a command goes on it once (a new socket gets it again); made on first use.
   */
  sentCommandIds?: Set<string>;
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

/** An HTTP-polling agent's session id: the same on every hub it polls, so they do not replace each other. */
export function httpSessionId(keyId: string): string {
  return `http:${keyId}`;
}

/** A session as it starts: nothing known of the agent until it registers. */
export function newSession(keyId: string, keyHash: string, transport: Transport, link: Pick<AgentSession, 'send' | 'close' | 'offerAllOnNextPoll' | 'pushGrant'>): AgentSession {
  return {
    sessionId: transport === 'http_polling' ? httpSessionId(keyId) : randomUUID(),
    keyId,
    keyHash,
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

/**
 * Sessions indexed by id and by key, so every lookup a command or a registration makes is about one
 * key's few sessions, never a scan of the whole fleet.
 */
export class Presence {
  private readonly sessions = new Map<string, AgentSession>();
  /** Sessions of each key, in the order they connected. */
  private readonly byKey = new Map<string, Map<string, AgentSession>>();
  /** Sessions of each registered agent_id, and the agent_id each session is indexed under. */
  private readonly byAgentId = new Map<string, Set<string>>();
  private readonly agentIdOf = new Map<string, string>();

  /** Sessions opened since start, by transport (reconnects show here; metrics). */
  readonly opened: Record<Transport, number> = { websocket: 0, http_polling: 0 };
  /** Sessions of agents that had a session on this hub before (since start), by transport (metrics). */
  readonly reconnected: Record<Transport, number> = { websocket: 0, http_polling: 0 };
  /** Every agent_id that registered here since start: a fleet's worth of short strings. */
  private readonly seenAgentIds = new Set<string>();

  add(session: AgentSession): void {
    this.sessions.set(session.sessionId, session);
    this.opened[session.transport] += 1;
    let ofKey = this.byKey.get(session.keyId);
    if (!ofKey) this.byKey.set(session.keyId, (ofKey = new Map()));
    ofKey.set(session.sessionId, session);
    if (session.agentId !== null) this.indexAgentId(session);
  }

  /** Records the agent_id a session registered as (registration sets session.agentId first). */
  indexAgentId(session: AgentSession): void {
    if (session.agentId === null || !this.sessions.has(session.sessionId)) return;
    if (!this.agentIdOf.has(session.sessionId)) {
      if (this.seenAgentIds.has(session.agentId)) this.reconnected[session.transport] += 1;
      else this.seenAgentIds.add(session.agentId);
    }
    this.unindexAgentId(session.sessionId);
    this.agentIdOf.set(session.sessionId, session.agentId);
    let ids = this.byAgentId.get(session.agentId);
    if (!ids) this.byAgentId.set(session.agentId, (ids = new Set()));
    ids.add(session.sessionId);
  }

  /** False once the session closed (or was replaced, or timed out): it must not register any more. */
  has(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  remove(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    const ofKey = this.byKey.get(session.keyId);
    ofKey?.delete(sessionId);
    if (ofKey?.size === 0) this.byKey.delete(session.keyId);
    this.unindexAgentId(sessionId);
  }

  private unindexAgentId(sessionId: string): void {
    const agentId = this.agentIdOf.get(sessionId);
    if (agentId === undefined) return;
    this.agentIdOf.delete(sessionId);
    const ids = this.byAgentId.get(agentId);
    ids?.delete(sessionId);
    if (ids?.size === 0) this.byAgentId.delete(agentId);
  }

  all(): AgentSession[] {
    this.dropStaleHttpSessions();
    return [...this.sessions.values()];
  }

  forKey(keyId: string): AgentSession[] {
    const ofKey = this.byKey.get(keyId);
    if (!ofKey) return [];
    const cutoff = Date.now() - HTTP_PRESENCE_MS;
    for (const session of ofKey.values()) if (session.transport === 'http_polling' && session.lastSeenMs < cutoff) this.remove(session.sessionId);
    return [...(this.byKey.get(keyId)?.values() ?? [])];
  }

  /** The newest registered WebSocket session of a key: where its commands go. */
  websocketSessionFor(keyId: string): AgentSession | undefined {
    return this.forKey(keyId)
      .filter((session) => session.transport === 'websocket' && session.agentId !== null)
      .at(-1);
  }

  httpSessionFor(keyId: string): AgentSession | undefined {
    return this.forKey(keyId)
      .filter((session) => session.transport === 'http_polling')
      .at(-1);
  }

  websocketCount(keyId: string): number {
    let count = 0;
    for (const session of this.byKey.get(keyId)?.values() ?? []) if (session.transport === 'websocket') count += 1;
    return count;
  }

  isConnected(keyId: string): boolean {
    return this.forKey(keyId).length > 0;
  }

  /** Closes (WS) or forgets (HTTP) every session of a key. */
  closeKey(keyId: string, code: number, reason: string): void {
    for (const session of this.forKey(keyId)) {
      session.close(code, reason);
      this.remove(session.sessionId);
    }
  }

  /** Other sessions of the same agent: the older ones lose to a new connection. */
  othersWithAgentId(agentId: string, except: string): AgentSession[] {
    const ids = this.byAgentId.get(agentId);
    if (!ids) return [];
    return [...ids]
      .filter((id) => id !== except)
      .map((id) => this.sessions.get(id)!)
      .filter(Boolean);
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
      if (session.transport === 'http_polling' && session.lastSeenMs < cutoff) this.remove(session.sessionId);
    }
  }
}
